// lightest try-on page: a hat and glasses placed by the fitted head pose, lit by the estimated light.
//
// World frame = lightest's camera frame in image pixels: x = u (right), y = -v (up), z = depth toward the
// camera. An orthographic camera looks down -z over the photo, so objects placed with the pose matrix
// (model centimetres -> world pixels, lightest/tryon_pose.py) land on the face, and light directions
// from the server apply unchanged.
import * as THREE from "./three.module.min.js";

const $ = (id) => document.getElementById(id);
const NEUTRAL = { direction: [0, 0.38, 0.925], ambient: 0.45 };
const HAT_COLOR = "#d9c7a1", BAND_COLOR = "#3a2a20", FRAME_COLOR = "#202024";

const api = {
  state: "idle", error: null, result: null, sidecar: null, mode: "estimate", hatBox: null, renders: 0,
  canvasPNG: () => renderer.domElement.toDataURL("image/png"),
};
window.tryon = api;

function setState(state, message) {
  api.state = state;
  document.body.dataset.state = state;
  if (message !== undefined) $("status").textContent = message;
}

// ---------- renderer, camera, lights ----------
const renderer = new THREE.WebGLRenderer({ canvas: $("gl"), alpha: true, antialias: true, preserveDrawingBuffer: true });
renderer.setClearColor(0x000000, 0);
renderer.shadowMap.enabled = true;
renderer.shadowMap.type = THREE.PCFSoftShadowMap;
const scene = new THREE.Scene();
const camera = new THREE.OrthographicCamera(0, 1, 0, -1, 1, 100000);
camera.position.set(0, 0, 50000);
const sun = new THREE.DirectionalLight(0xffffff, 1);
sun.castShadow = true;
sun.shadow.mapSize.set(2048, 2048);
const probe = new THREE.LightProbe();
scene.add(sun, sun.target, probe);

// ---------- the objects, in canonical-face centimetres (head frame: x subject's left, y up, z out) ----------
function lathe(points, color, roughness, sx = 1, sz = 1) {
  const geo = new THREE.LatheGeometry(points.map(([r, y]) => new THREE.Vector2(r, y)), 96);
  geo.rotateY(Math.PI); // the lathe's seam at the back of the head, out of sight
  geo.scale(sx, 1, sz);
  geo.computeVertexNormals();
  const mesh = new THREE.Mesh(geo, new THREE.MeshStandardMaterial({ color, roughness, metalness: 0, side: THREE.DoubleSide }));
  mesh.castShadow = true;
  return mesh;
}

function makeHat() {
  // A fedora-like profile (radius, height) from the inner opening out along the brim and up the crown.
  const crown = [[0, 11.6], [4.8, 11.4], [6.7, 10.6], [7.5, 8.6], [7.9, 4.5], [8.1, 1.2], [8.2, 0.55]];
  const brim = [[9.5, 0.5], [12.2, 0.55], [13.8, 0.8], [14.6, 1.25], [14.9, 1.5], [14.8, 1.15], [13.9, 0.35],
    [12.2, 0.05], [9.5, 0.0], [8.2, 0.0]];
  const hat = new THREE.Group();
  hat.add(lathe([...crown, ...brim], HAT_COLOR, 0.9, 1, 1.18));
  hat.add(lathe([[8.27, 0.5], [8.16, 2.0], [8.05, 3.6], [7.9, 3.62]], BAND_COLOR, 0.6, 1, 1.18));
  hat.position.set(0, 5.7, -3.3);
  hat.rotation.x = -0.1; // tipped back a little
  return hat;
}

function makeGlasses() {
  const mat = new THREE.MeshStandardMaterial({ color: FRAME_COLOR, roughness: 0.35, metalness: 0.2 });
  const lensMat = new THREE.MeshStandardMaterial({ color: "#6d7f8f", roughness: 0.05, metalness: 0.5,
    transparent: true, opacity: 0.22, depthWrite: false });
  const glasses = new THREE.Group();
  const z = 5.9;
  for (const side of [-1, 1]) {
    const rim = new THREE.Mesh(new THREE.TorusGeometry(2.25, 0.2, 12, 64), mat);
    rim.scale.set(1.13, 0.86, 1.3);
    rim.position.set(side * 3.2, 2.75, z);
    const lens = new THREE.Mesh(new THREE.CircleGeometry(2.25, 48), lensMat);
    lens.scale.set(1.13, 0.86, 1);
    lens.position.set(side * 3.2, 2.75, z);
    // temple: from the rim's outer edge back past the ear, a thin bar
    const front = new THREE.Vector3(side * 5.65, 2.85, z - 0.1), back = new THREE.Vector3(side * 7.5, 3.0, -4.0);
    const temple = new THREE.Mesh(new THREE.BoxGeometry(0.2, 0.3, front.distanceTo(back)), mat);
    temple.position.copy(front).add(back).multiplyScalar(0.5);
    temple.lookAt(back); // built before the head has a pose: local coordinates are world ones here
    for (const m of [rim, temple]) m.castShadow = true;
    glasses.add(rim, lens, temple);
  }
  const bridge = new THREE.Mesh(new THREE.TorusGeometry(0.85, 0.17, 10, 32, Math.PI), mat);
  bridge.position.set(0, 3.05, z + 0.1);
  bridge.castShadow = true;
  glasses.add(bridge);
  return glasses;
}

// Depth-only stand-ins for the head, so the hat's back and the glasses' temples hide behind it.
const occluderMat = new THREE.MeshBasicMaterial({ colorWrite: false });
function makeSkull() {
  const skull = new THREE.Mesh(new THREE.SphereGeometry(1, 48, 32), occluderMat);
  skull.scale.set(7.6, 10.4, 8.8);
  skull.position.set(0, 3.6, -4.6);
  skull.renderOrder = -1;
  return skull;
}

// A shadow on the photo removes the key light's share of each skin point's light and keeps the ambient: the
// face darkens by ambient / (key * max(n.l, 0) + ambient), in linear light. The share is set per vertex from the
// rig (keyShare) and the material's opacity follows it, converted for blending over sRGB pixels.
const shadowMaterial = new THREE.ShadowMaterial();
shadowMaterial.onBeforeCompile = (shader) => {
  shader.vertexShader = shader.vertexShader
    .replace("#include <common>", "#include <common>\nattribute float keyShare;\nvarying float vKeyShare;")
    .replace("void main() {", "void main() {\n\tvKeyShare = keyShare;");
  shader.fragmentShader = shader.fragmentShader
    .replace("#include <common>", "#include <common>\nvarying float vKeyShare;")
    .replace("opacity * ( 1.0 - getShadowMask() )", "vKeyShare * ( 1.0 - getShadowMask() )");
};

function shIrradiance(sh, n) { // three.js's shGetIrradianceAt on 27 coefficient-major floats (luminance)
  const [x, y, z] = n;
  const basis = [0.886227, 1.023328 * y, 1.023328 * z, 1.023328 * x, 0.858086 * x * y, 0.858086 * y * z,
    0.743125 * z * z - 0.247708, 0.858086 * x * z, 0.429043 * (x * x - y * y)];
  let e = 0;
  for (let i = 0; i < 9; i++) e += basis[i] * (0.2126 * sh[3 * i] + 0.7152 * sh[3 * i + 1] + 0.0722 * sh[3 * i + 2]);
  return e;
}

function updateKeyShare(rig) {
  const mesh = faceMeshes.find((m) => m.name === "face-shadow");
  if (!mesh) return;
  const normals = mesh.geometry.getAttribute("normal"), share = mesh.geometry.getAttribute("keyShare");
  const l = new THREE.Vector3(...rig.light_position).normalize();
  const c = rig.light_color, key = rig.light_intensity * (0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]);
  for (let i = 0; i < share.count; i++) {
    const n = [normals.getX(i), normals.getY(i), normals.getZ(i)];
    const direct = key * Math.max(0, n[0] * l.x + n[1] * l.y + n[2] * l.z);
    const ambient = Math.max(shIrradiance(rig.probe_sh, n), 1e-4);
    const keep = ambient / (direct + ambient); // linear light left in the shadow
    share.setX(i, Math.min(0.92, 1 - Math.pow(keep, 1 / 2.2)));
  }
  share.needsUpdate = true;
}

let faceModel = null; // {triangles, canonical_cm} from the server
const head = new THREE.Group();
head.matrixAutoUpdate = false;
const hat = makeHat(), glasses = makeGlasses();
head.add(hat, glasses, makeSkull());
scene.add(head);
let faceMeshes = []; // occluder + shadow receiver built from the landmarks

function buildFace(landmarks) {
  for (const m of faceMeshes) { scene.remove(m); m.geometry.dispose(); }
  const pos = new Float32Array(landmarks.length * 3);
  landmarks.forEach(([u, v, z], i) => pos.set([u, -v, z], 3 * i));
  const geo = new THREE.BufferGeometry();
  geo.setAttribute("position", new THREE.BufferAttribute(pos, 3));
  geo.setIndex(faceModel.triangles.flat());
  geo.computeVertexNormals();
  geo.setAttribute("keyShare", new THREE.BufferAttribute(new Float32Array(landmarks.length), 1));
  const occluder = new THREE.Mesh(geo, occluderMat);
  occluder.renderOrder = -1;
  const shadow = new THREE.Mesh(geo, shadowMaterial);
  shadow.receiveShadow = true;
  shadow.name = "face-shadow";
  faceMeshes = [occluder, shadow];
  scene.add(occluder, shadow);
}

// ---------- lighting rigs, as the server sends them (lightest/serve/lighting.py): a DirectionalLight toward
// light_position and a LightProbe, scaled so that a surface facing the light receives irradiance pi ----------
const Y00 = 0.282095;
function uniformRig(direction, ambient) {
  const probeSH = new Array(27).fill(0);
  probeSH[0] = probeSH[1] = probeSH[2] = ambient / Y00; // irradiance pi * ambient from every side
  return { light_position: direction, light_color: [1, 1, 1], light_intensity: Math.PI * (1 - ambient), probe_sh: probeSH };
}

function dirFromAngles(azDeg, elDeg) {
  const az = THREE.MathUtils.degToRad(azDeg), el = THREE.MathUtils.degToRad(elDeg);
  return [Math.sin(az) * Math.cos(el), Math.sin(el), Math.cos(az) * Math.cos(el)];
}

function currentRig() {
  const face = api.result?.faces?.[0];
  const ambient = face?.estimate?.ambient ?? 0.2;
  switch (api.mode) {
    case "neutral": return uniformRig(NEUTRAL.direction, NEUTRAL.ambient);
    case "truth": return api.sidecar ? uniformRig(api.sidecar.direction, api.sidecar.ambient ?? ambient) : null;
    case "manual": return uniformRig(dirFromAngles(+$("az").value, +$("el").value), ambient);
    default: return face ? face.three : null;
  }
}

function applyRig(rig) {
  const exposure = +$("exposure").value;
  sun.color.setRGB(...rig.light_color, THREE.LinearSRGBColorSpace);
  sun.intensity = rig.light_intensity * exposure;
  probe.sh.fromArray(rig.probe_sh.map((v) => v * exposure));
  const d = new THREE.Vector3(...rig.light_position).normalize();
  const centre = new THREE.Vector3().setFromMatrixPosition(head.matrix);
  const size = (api.result?.faces?.[0]?.pose?.scale ?? 10) * 30; // 30 cm around the head, in pixels
  sun.target.position.copy(centre);
  sun.position.copy(centre).addScaledVector(d, size * 2);
  const cam = sun.shadow.camera;
  cam.left = -size; cam.right = size; cam.top = size; cam.bottom = -size; cam.near = 1; cam.far = size * 4;
  cam.updateProjectionMatrix();
  sun.shadow.bias = -0.0006;
  sun.shadow.normalBias = size * 0.0015;
  sun.target.updateMatrixWorld();
}

// ---------- drawing ----------
function resize() {
  const img = $("photo");
  if (!img.naturalWidth) return;
  // fit the photo into the stage, up or down, keeping its aspect
  const box = $("stage").getBoundingClientRect();
  const fit = Math.min((box.width - 26) / img.naturalWidth, (window.innerHeight - 170) / img.naturalHeight);
  img.style.width = `${Math.floor(img.naturalWidth * fit)}px`;
  img.style.height = `${Math.floor(img.naturalHeight * fit)}px`;
  renderer.setPixelRatio(window.devicePixelRatio || 1);
  renderer.setSize(img.clientWidth, img.clientHeight, false);
  camera.left = 0; camera.right = img.naturalWidth; camera.top = 0; camera.bottom = -img.naturalHeight;
  camera.updateProjectionMatrix();
}

function hatBoxOnCanvas() {
  if (!hat.visible || !head.visible) return null;
  const box = new THREE.Box3().setFromObject(hat);
  const w = renderer.domElement.width, h = renderer.domElement.height;
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const x of [box.min.x, box.max.x]) for (const y of [box.min.y, box.max.y]) for (const z of [box.min.z, box.max.z]) {
    const p = new THREE.Vector3(x, y, z).project(camera);
    const px = (p.x + 1) / 2 * w, py = (1 - p.y) / 2 * h;
    x0 = Math.min(x0, px); x1 = Math.max(x1, px); y0 = Math.min(y0, py); y1 = Math.max(y1, py);
  }
  return [Math.round(x0), Math.round(y0), Math.round(x1), Math.round(y1)];
}

function render() {
  const face = api.result?.faces?.[0];
  head.visible = !!face;
  faceMeshes.forEach((m) => { m.visible = !!face; });
  hat.visible = $("show-hat").checked;
  glasses.visible = $("show-glasses").checked;
  if (renderer.shadowMap.enabled !== $("show-shadow").checked) { // materials recompile with or without shadows
    renderer.shadowMap.enabled = $("show-shadow").checked;
    scene.traverse((o) => { if (o.material) o.material.needsUpdate = true; });
  }
  const shadowMesh = faceMeshes.find((m) => m.name === "face-shadow");
  if (shadowMesh) shadowMesh.visible = !!face && $("show-shadow").checked;
  const rig = face ? currentRig() : null;
  if (rig) { applyRig(rig); updateKeyShare(rig); }
  renderer.render(scene, camera);
  api.hatBox = face ? hatBoxOnCanvas() : null;
  api.renders += 1;
  updateReadout(rig);
}

// ---------- readout ----------
const deg = (v) => `${v >= 0 ? "+" : ""}${v.toFixed(1)}°`;
function angles(d) {
  return [Math.atan2(d[0], d[2]) * 180 / Math.PI, Math.asin(Math.max(-1, Math.min(1, d[1]))) * 180 / Math.PI];
}
function angleBetween(a, b) {
  const va = new THREE.Vector3(...a).normalize(), vb = new THREE.Vector3(...b).normalize();
  return THREE.MathUtils.radToDeg(va.angleTo(vb));
}
function updateReadout(rig) {
  const rows = [];
  const face = api.result?.faces?.[0];
  if (face) {
    const e = face.estimate, p = face.pose;
    rows.push(["estimate", `azimuth ${deg(e.azimuth_deg)}, elevation ${deg(e.elevation_deg)}`]);
    rows.push(["ambient", e.ambient == null ? "—" : `${(100 * e.ambient).toFixed(0)} %`]);
    rows.push(["confidence", `${e.confidence.toFixed(2)} (${e.method})`]);
    rows.push(["head", `yaw ${deg(p.yaw_deg)}, up ${deg(-p.pitch_deg)}, roll ${deg(p.roll_deg)}`]);
    if (api.sidecar) {
      const [az, el] = angles(api.sidecar.direction);
      rows.push(["true light", `azimuth ${deg(az)}, elevation ${deg(el)}`]);
      rows.push(["error", `${angleBetween(e.direction, api.sidecar.direction).toFixed(1)}°`]);
    }
    if (rig) {
      const [az, el] = angles(rig.light_position);
      rows.push(["hat lit from", `azimuth ${deg(az)}, elevation ${deg(el)}`]);
    }
  }
  $("readout").replaceChildren(...rows.flatMap(([k, v]) => {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = v;
    return [dt, dd];
  }));
}

// ---------- input: files, drops, webcam ----------
async function loadFaceModel() {
  if (!faceModel) faceModel = await (await fetch("/api/face-model")).json();
}

// A webcam frame goes with its stream's id and timestamp: the server tracks the face and filters the light.
async function estimate(blob, frame = null) {
  const query = frame ? `?stream=${frame.stream}&timestamp_ms=${frame.timestampMs}` : "";
  const response = await fetch(`/api/estimate${query}`, { method: "POST", body: blob, headers: { "Content-Type": "application/octet-stream" } });
  const body = await response.json().catch(() => ({ error: `server answered ${response.status}` }));
  if (!response.ok) throw new Error(body.error || `server answered ${response.status}`);
  return body;
}

function showPhoto(url) {
  return new Promise((resolve, reject) => {
    const img = $("photo");
    const previous = img.src;
    img.onload = () => { if (previous.startsWith("blob:")) URL.revokeObjectURL(previous); resolve(); };
    img.onerror = () => reject(new Error("the browser cannot show this image"));
    img.src = url;
  });
}

async function usePhoto(blob, sidecar, frame = null) {
  const live = frame !== null;
  if (!live) setState("loading", "Estimating the light…");
  try {
    await loadFaceModel();
    const result = await estimate(blob, frame);
    const url = URL.createObjectURL(blob);
    await showPhoto(url);
    $("frame").hidden = false;
    $("drop").hidden = true;
    api.result = result;
    api.sidecar = sidecar;
    const truthRadio = document.querySelector('input[name="mode"][value="truth"]');
    truthRadio.disabled = !sidecar;
    if (!sidecar && api.mode === "truth") setMode("estimate");
    const face = result.faces[0];
    if (face) {
      head.matrix.fromArray(face.pose.matrix);
      head.matrixWorldNeedsUpdate = true;
      buildFace(face.landmarks);
      if (api.mode === "manual" && !api.manualTouched) setManualFromEstimate(face);
    }
    resize();
    render();
    const where = live ? "in view" : "in this photo";
    setState(face ? "ready" : "noface", face ? (live ? "Live: webcam." : "Done.") : `No face found ${where}.`);
  } catch (err) {
    api.error = String(err.message || err);
    setState("error", api.error);
  }
}

async function readSidecar(file) {
  try {
    const data = JSON.parse(await file.text());
    const d = data.light_dir_camera;
    if (!Array.isArray(d) || d.length !== 3 || !d.every(Number.isFinite)) return null;
    return { direction: d, ambient: Number.isFinite(data.ambient_ratio) ? data.ambient_ratio : null };
  } catch { return null; }
}

async function useFiles(files) {
  files = [...files];
  const image = files.find((f) => !f.name.toLowerCase().endsWith(".json"));
  if (!image) { setState("error", "Choose an image file (a JSON sidecar goes with its photo)."); return; }
  stopWebcam();
  const stem = image.name.replace(/\.[^.]*$/, "");
  const jsons = files.filter((f) => f.name.toLowerCase().endsWith(".json"));
  const json = jsons.find((f) => f.name.replace(/\.json$/i, "") === stem) || (jsons.length === 1 ? jsons[0] : null);
  await usePhoto(image, json ? await readSidecar(json) : null);
}

$("file").addEventListener("change", (e) => useFiles(e.target.files));
const stage = $("stage");
for (const t of ["dragenter", "dragover"]) stage.addEventListener(t, (e) => { e.preventDefault(); stage.classList.add("dragging"); });
for (const t of ["dragleave", "drop"]) stage.addEventListener(t, () => stage.classList.remove("dragging"));
stage.addEventListener("drop", (e) => { e.preventDefault(); useFiles(e.dataTransfer.files); });

let stream = null;
function stopWebcam() {
  if (!stream) return;
  stream.getTracks().forEach((t) => t.stop());
  stream = null;
  $("webcam").classList.remove("on");
  $("webcam").textContent = "Use webcam";
}
async function webcamLoop() {
  const video = $("video");
  const grab = document.createElement("canvas");
  const id = `cam${Date.now().toString(36)}${Math.floor(Math.random() * 1e9).toString(36)}`;  // a new stream
  let last = -1;
  while (stream) {
    if (video.videoWidth) {
      grab.width = video.videoWidth; grab.height = video.videoHeight;
      const timestampMs = Math.max(last + 1, Math.round(performance.now()));
      last = timestampMs;
      grab.getContext("2d").drawImage(video, 0, 0);
      const blob = await new Promise((r) => grab.toBlob(r, "image/jpeg", 0.9));
      if (!stream) break;
      await usePhoto(blob, null, { stream: id, timestampMs });
    } else {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
$("webcam").addEventListener("click", async () => {
  if (stream) { stopWebcam(); return; }
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720 }, audio: false });
  } catch (err) {
    setState("error", `No webcam: ${err.message || err}`);
    return;
  }
  const video = $("video");
  video.srcObject = stream;
  await video.play();
  $("webcam").classList.add("on");
  $("webcam").textContent = "Stop webcam";
  webcamLoop();
});

// ---------- controls ----------
function setManualFromEstimate(face) {
  $("az").value = Math.round(face.estimate.azimuth_deg);
  $("el").value = Math.round(face.estimate.elevation_deg);
  syncOutputs();
}
function syncOutputs() {
  $("az-out").textContent = `${$("az").value}°`;
  $("el-out").textContent = `${$("el").value}°`;
  $("exposure-out").textContent = (+$("exposure").value).toFixed(2);
}
function setMode(mode) {
  api.mode = mode;
  const radio = document.querySelector(`input[name="mode"][value="${mode}"]`);
  if (radio) radio.checked = true;
  $("manual-controls").classList.toggle("visible", mode === "manual");
}
for (const radio of document.querySelectorAll('input[name="mode"]')) {
  radio.addEventListener("change", () => {
    if (api.mode !== "manual" && radio.value === "manual" && api.result?.faces?.[0] && !api.manualTouched) {
      setManualFromEstimate(api.result.faces[0]);
    }
    setMode(radio.value);
    render();
  });
}
for (const id of ["az", "el"]) $(id).addEventListener("input", () => { api.manualTouched = true; syncOutputs(); render(); });
$("exposure").addEventListener("input", () => { syncOutputs(); render(); });
for (const id of ["show-hat", "show-glasses", "show-shadow"]) $(id).addEventListener("change", render);
window.addEventListener("resize", () => { resize(); render(); });

// URL parameters (links and tests): ?light=estimate|neutral|manual|truth&az=..&el=..
const params = new URLSearchParams(location.search);
if (params.has("az") || params.has("el")) {
  $("az").value = params.get("az") ?? $("az").value;
  $("el").value = params.get("el") ?? $("el").value;
  api.manualTouched = true;
}
if (["estimate", "neutral", "manual", "truth"].includes(params.get("light"))) setMode(params.get("light"));
syncOutputs();
loadFaceModel().catch((err) => setState("error", `cannot reach the server: ${err.message || err}`));
