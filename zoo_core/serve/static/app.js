// zoo serve: pick or drop an image, upscale it on the server, compare before/after, download.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { models: [], limits: {}, file: null, job: null, poll: null };

function setState(name) { document.body.dataset.state = name; }

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
  if (message) setState("error");
}

function sizeText(bytes) {
  return bytes >= 1048576 ? (bytes / 1048576).toFixed(1) + " MB" : Math.ceil(bytes / 1024) + " KB";
}

function option(value, label, selected) {
  const o = document.createElement("option");
  o.value = String(value);
  o.textContent = label;
  o.selected = !!selected;
  return o;
}

async function loadModels() {
  let data;
  try {
    const r = await fetch("/api/models");
    data = await r.json();
    if (!r.ok) throw new Error(data.error || r.statusText);
  } catch (e) {
    showError("Could not list the models: " + e.message);
    return;
  }
  state.models = data.models;
  state.limits = data.limits;
  const select = $("model");
  select.replaceChildren();
  const byArch = new Map();
  for (const m of data.models) {
    if (!byArch.has(m.architecture)) byArch.set(m.architecture, []);
    byArch.get(m.architecture).push(m);
  }
  for (const [arch, models] of byArch) {
    const group = document.createElement("optgroup");
    group.label = arch;
    for (const m of models) group.append(option(m.name, m.name));
    select.append(group);
  }
  if (data.models.some((m) => m.name === data.default)) select.value = data.default;  // the CLI's default
  $("format").replaceChildren(...(data.formats || ["png"]).map((f) => option(f, f.toUpperCase(), f === "png")));
  if (!data.models.length) showError("No models are installed. Install a zoo plugin, then reload.");
  $("limits").textContent = "Up to " + sizeText(state.limits.max_bytes) + " and " +
    (state.limits.max_pixels / 1e6).toFixed(1) + " megapixels per image.";
  modelChanged();
  setState("ready");
}

function currentModel() { return state.models.find((m) => m.name === $("model").value); }

function modelChanged() {
  const m = currentModel();
  if (!m) return;
  $("noise").replaceChildren(...m.noise_levels.map((n) =>
    option(n, n < 0 ? "none" : "level " + n, n === m.noise_level)));
  $("scale").replaceChildren(...m.scales.map((s) => option(String(s), s + "×", s === m.scale)));
  describe();
  updateButton();
}

// The card that will run for the chosen noise level (a registered variant of the chosen model's family).
function describe() {
  const m = currentModel();
  const used = (m.variants || {})[$("noise").value] || m.name;
  const prefix = used === m.name ? "" : "Uses " + used + ": ";
  $("description").textContent = prefix + m.description + " (" + (m.style || m.architecture) + ", licence " + m.license + ")";
}

function updateButton() {
  $("go").disabled = !(state.file && currentModel()) || state.poll !== null;
}

function pickFile(file) {
  showError("");
  if (!file) return;
  if (state.limits.max_bytes && file.size > state.limits.max_bytes) {
    state.file = null;
    showError(file.name + ": " + sizeText(file.size) + " is over the limit of " + sizeText(state.limits.max_bytes) + ".");
    updateButton();
    return;
  }
  state.file = file;
  $("picked").textContent = file.name + " · " + sizeText(file.size);
  const thumb = $("thumb");
  if (thumb.src) URL.revokeObjectURL(thumb.src);
  thumb.src = URL.createObjectURL(file);
  thumb.hidden = false;
  thumb.onerror = () => { thumb.hidden = true; };
  setState("picked");
  updateButton();
}

async function submit(event) {
  event.preventDefault();
  if (!state.file) return;
  showError("");
  $("result").hidden = true;
  const form = new FormData();
  form.append("image", state.file, state.file.name);
  form.append("model", $("model").value);
  form.append("noise", $("noise").value);
  form.append("scale", $("scale").value);
  form.append("format", $("format").value);
  form.append("tta", $("tta").checked ? "1" : "0");
  showStatus(0, "Uploading…");
  setState("uploading");
  let job;
  try {
    const r = await fetch("/api/jobs", { method: "POST", body: form });
    job = await r.json();
    if (!r.ok) throw new Error(job.error || r.status + " " + r.statusText);
  } catch (e) {
    $("status").hidden = true;
    showError(e.message);
    return;
  }
  state.job = job;
  state.poll = setTimeout(pollJob, 100);
  updateButton();
  render(job);
}

function showStatus(progress, text) {
  $("status").hidden = false;
  $("progress").value = progress;
  $("status-text").textContent = text;
}

async function pollJob() {
  let job;
  try {
    const r = await fetch("/api/jobs/" + state.job.id);
    job = await r.json();
    if (!r.ok) throw new Error(job.error || r.statusText);
  } catch (e) {
    finish();
    showError("Lost the job: " + e.message);
    return;
  }
  render(job);
  if (job.state === "queued" || job.state === "running") state.poll = setTimeout(pollJob, 250);
  else finish();
}

function finish() {
  clearTimeout(state.poll);
  state.poll = null;
  updateButton();
}

function render(job) {
  setState(job.state);
  if (job.state === "queued") showStatus(0, "Waiting in the queue (position " + job.position + ")…");
  else if (job.state === "running") showStatus(job.progress, "Upscaling… " + Math.round(job.progress * 100) + "%");
  else if (job.state === "error") { $("status").hidden = true; showError(job.error); }
  else if (job.state === "done") { showStatus(1, "Done in " + job.seconds + " s"); showResult(job); }
}

function showResult(job) {
  const base = "/api/jobs/" + job.id;
  const after = $("after");
  after.src = base + "/result";
  after.dataset.width = job.out_width;
  after.dataset.height = job.out_height;
  $("before").src = base + "/baseline?method=" + $("baseline").value;
  $("download").href = base + "/result?download=1";
  const ext = job.format === "jpeg" ? "jpg" : job.format;  // named after the model that ran, as the server names it
  $("download").download = job.filename.replace(/\.[^.]*$/, "") + "-" + job.cards[0] + "-" + job.scale + "x." + ext;
  const via = job.cards.length > 1 ? " (" + job.cards.join(" → ") + ")" : " with " + job.cards[0];
  $("out-info").textContent = job.width + "×" + job.height + " → " + job.out_width + "×" + job.out_height + via;
  $("result").hidden = false;
  // A video comes back as a playable clip (every stream kept), not as a before/after picture.
  for (const id of ["viewport", "split"]) $(id).hidden = job.video;
  $("baseline").parentElement.hidden = job.video;
  $("video").hidden = !job.video;
  if (job.video) {
    $("video").src = base + "/result";
    const ext = job.filename.match(/\.(mp4|m4v|mov|webm|mkv)$/i);
    $("download").download = job.filename.replace(/\.[^.]*$/, "") + "-" + job.cards[0] + "-" + job.scale + "x." +
      (ext ? ext[1].toLowerCase() : "mkv");
    return;
  }
  $("video").removeAttribute("src");
  fitCompare();
  setSplit($("split").value);
}

function fitCompare() {
  const after = $("after").dataset;
  if (!after.width) return;
  const w = Number(after.width), h = Number(after.height);
  // Fit the whole picture in the box (enlarging small ones), or show it 1:1 and let the box scroll.
  const fit = Math.min($("viewport").clientWidth / w, (window.innerHeight * 0.7) / h);
  const zoom = $("actual").checked ? 1 : fit;
  $("compare").style.width = Math.floor(w * zoom) + "px";
  // Enlarged on screen, let the pixels show rather than adding the browser's own smoothing.
  $("compare").classList.toggle("pixelated", zoom >= 1);
}

function setSplit(percent) {
  $("compare").style.setProperty("--split", percent + "%");
  $("divider").style.setProperty("--split", percent + "%");
  $("split").value = percent;
}

function dragSplit(event) {
  if (event.type !== "pointerdown" && !(event.buttons & 1)) return;
  const box = $("compare").getBoundingClientRect();
  setSplit(Math.max(0, Math.min(100, ((event.clientX - box.left) / box.width) * 100)).toFixed(1));
}

function wire() {
  const drop = $("drop");
  for (const name of ["dragenter", "dragover"]) {
    drop.addEventListener(name, (e) => { e.preventDefault(); drop.classList.add("over"); });
  }
  for (const name of ["dragleave", "drop"]) drop.addEventListener(name, () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    if (e.dataTransfer && e.dataTransfer.files.length) pickFile(e.dataTransfer.files[0]);
  });
  drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") $("file").click(); });
  drop.addEventListener("click", (e) => { if (!e.target.closest("label")) $("file").click(); });
  $("file").addEventListener("change", (e) => { pickFile(e.target.files[0]); e.target.value = ""; });
  $("model").addEventListener("change", modelChanged);
  $("noise").addEventListener("change", describe);
  $("options").addEventListener("submit", submit);
  $("split").addEventListener("input", (e) => setSplit(e.target.value));
  $("compare").addEventListener("pointerdown", dragSplit);
  $("compare").addEventListener("pointermove", dragSplit);
  $("baseline").addEventListener("change", () => {
    if (state.job) $("before").src = "/api/jobs/" + state.job.id + "/baseline?method=" + $("baseline").value;
  });
  $("actual").addEventListener("change", fitCompare);
  window.addEventListener("resize", fitCompare);
  // A file dropped outside the box should not make the browser leave the page.
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => e.preventDefault());
}

wire();
loadModels();
