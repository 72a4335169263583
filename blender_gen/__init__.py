"""blender_gen: render labelled face-lighting training data with bpy/Cycles (repository tool).

Run as ``python -m blender_gen --help`` from the repository root. Not part of the ``lightest``
package: ``lightest`` never imports this.
"""

__version__ = "0.1.0"  # bump whenever sampling or rendering changes the images or labels
