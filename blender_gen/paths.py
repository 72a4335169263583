"""Where the read-only input assets live (``../shared`` next to the repository, or ``--shared DIR``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SHARED = REPO_ROOT.parent / "shared"


class SharedAssetsMissingError(FileNotFoundError):
    """Raised when the shared head assets cannot be found; the message says where we looked."""


@dataclass(frozen=True)
class Assets:
    """Paths of every input file blender_gen reads (never copied into the repository)."""

    shared: Path

    @property
    def heads(self) -> Path:
        return self.shared / "assets" / "heads"

    @property
    def lps_dir(self) -> Path:
        return self.heads / "lee_perry_smith"

    @property
    def lps_glb(self) -> Path:
        return self.lps_dir / "LeePerrySmith.glb"

    @property
    def lps_color(self) -> Path:
        return self.lps_dir / "Map-COL.jpg"

    @property
    def lps_specular(self) -> Path:
        return self.lps_dir / "Map-SPEC.jpg"

    @property
    def lps_normal(self) -> Path:
        return self.lps_dir / "Infinite-Level_02_Tangent_SmoothUV.jpg"

    @property
    def ict_npz(self) -> Path:
        return self.heads / "ict_facekit" / "ict_facekit.npz"

    @property
    def ict_indices(self) -> Path:
        return self.heads / "ict_facekit" / "vertex_indices.json"

    def required(self) -> tuple[Path, ...]:
        return (self.lps_glb, self.lps_color, self.lps_specular, self.lps_normal, self.ict_npz,
                self.ict_indices)


def resolve_assets(shared: str | Path | None = None) -> Assets:
    """Check that every input file exists under ``shared`` (default ``<repo>/../shared``)."""
    root = Path(shared).expanduser().resolve() if shared is not None else DEFAULT_SHARED
    assets = Assets(root)
    missing = [p for p in assets.required() if not p.is_file()]
    if missing:
        listed = "\n  ".join(str(p) for p in missing)
        raise SharedAssetsMissingError(
            f"../shared/assets/heads not found or incomplete (looked in {root}); missing:\n  {listed}\n"
            "Pass --shared DIR pointing at the project's shared/ folder."
        )
    return assets
