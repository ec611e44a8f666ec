// The explainer page: gallery, drawing canvas, the overview of columns, and the arithmetic of a clicked map.
// Reads the JSON in #page-data (explain/page.py) and the forward pass in page_forward.js.
"use strict";

const DATA = JSON.parse(document.getElementById("page-data").textContent);
const $ = (id) => document.getElementById(id);
// exampleName: what the overview shows; lastExample: the gallery example shown last, which "clear" goes back to
const state = { input: null, cols: null, sel: null, timer: null, exampleName: "", lastExample: null };

function fmt(v) {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(2) : String(Number(v.toPrecision(4)));
}
function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
// [C, H, W] for maps (a signal is one row high), null for a vector.
function shape3(s) { return s.length === 3 ? s : s.length === 2 ? [s[0], 1, s[1]] : null; }

// One diverging scale for every map: blue (negative), white (0), red (positive), at ±m.
function colour(v, m) {
  const t = m > 0 ? Math.max(-1, Math.min(1, v / m)) : 0;
  const [r0, g0, b0] = t < 0 ? [33, 102, 172] : [178, 24, 43];
  const a = Math.abs(t);
  return [247 + (r0 - 247) * a, 247 + (g0 - 247) * a, 247 + (b0 - 247) * a];
}
function maxAbs(d) { let m = 0; for (const v of d) m = Math.max(m, Math.abs(v)); return m; }

// A cell's number in at most 6 characters: 2 significant digits (the deck's 0.77, -0.11); below 0.01 and from
// 1e4 on one digit and its power of ten (-3e-3, 2e+5); below 5e-4 "0". The detail panel shows every digit.
function cellText(v) {
  const a = Math.abs(v);
  if (a < 5e-4) return "0";
  if (a < 0.01 || a >= 1e4) return v.toExponential(0);
  return String(Number(v.toPrecision(2)));
}

// A map as pixels; a small one (the deck's 3x3 maps) as cells with their numbers written in.
function paint(canvas, d, offset, H, W, m, numbers) {
  const ctx = canvas.getContext("2d");
  if (numbers && H <= 6 && W <= 6 && H > 1) {
    const cell = 36;  // "-0.074" (6 characters of 9 px monospace, 32 px) fits with a margin
    canvas.width = W * cell; canvas.height = H * cell;
    ctx.font = "9px monospace"; ctx.textAlign = "center"; ctx.textBaseline = "middle";
    for (let i = 0; i < H * W; i++) {
      const v = d[offset + i], [r, g, b] = colour(v, m), x = (i % W) * cell, y = Math.floor(i / W) * cell;
      ctx.fillStyle = `rgb(${r},${g},${b})`; ctx.fillRect(x, y, cell, cell);
      ctx.fillStyle = Math.abs(v) > 0.6 * m ? "#fff" : "#111";
      ctx.fillText(cellText(v), x + cell / 2, y + cell / 2);
    }
    return cell;
  }
  canvas.width = W; canvas.height = H;
  const img = ctx.createImageData(W, H);
  for (let i = 0; i < H * W; i++) {
    const [r, g, b] = colour(d[offset + i], m);
    img.data.set([r, g, b, 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
  return 1;
}

// A gallery thumbnail as the picture it is: colour for 3 channels, else gray, stretched to its own range.
function photo(canvas, x, [C, H, W]) {
  canvas.width = W; canvas.height = H;
  const ctx = canvas.getContext("2d"), img = ctx.createImageData(W, H), n = H * W;
  let lo = Infinity, hi = -Infinity;
  for (const v of x) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  const g = (v) => (hi > lo ? (255 * (v - lo)) / (hi - lo) : 128);
  for (let i = 0; i < n; i++) {
    const rgb = C === 3 ? [x[i], x[n + i], x[2 * n + i]].map(g) : [g(x[i]), g(x[i]), g(x[i])];
    img.data.set([...rgb, 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
}

function inputOf(ex) {
  if (!ex._x) ex._x = { shape: DATA.input_shape, data: decodeF32(ex.x) };
  return ex._x;
}
function columnsFor(ex, input) {
  if (DATA.layers) return forward(DATA.layers, input);
  const cols = [{ name: "input", kind: "input", layer: null, ...input }];
  DATA.columns.forEach((c, k) => {
    if (!ex._acts) ex._acts = ex.acts.map(decodeF32);
    cols.push({ name: c.name, kind: c.kind, layer: null, shape: c.shape, data: ex._acts[k] });
  });
  return cols;
}

function label(col, k) {
  if (col.kind === "conv" && DATA.filter_names) return DATA.filter_names[k];
  const logits = DATA.layers && col.layer === DATA.layers[DATA.layers.length - 2];
  return col.kind === "softmax" || logits ? DATA.labels[k] : String(k);
}
function title(col) {
  if (col.kind === "input") return "input";
  const L = col.layer, extra = (L && L.bn ? " + batch norm (folded)" : "") + (L && L.half ? " (float16 weights)" : "");
  return col.name === col.kind ? col.kind : `${col.name} · ${col.kind}${extra}`;
}

function renderOverview() {
  const box = $("overview");
  box.replaceChildren();
  state.cols.forEach((col, ci) => {
    const div = el("div", { class: "col", "data-col": ci });
    const m = maxAbs(col.data), s = shape3(col.shape);
    div.append(el("h3", {}, title(col)), el("p", { class: "meta" }, `${col.shape.join("×")} · ±${fmt(m)}`));
    if (col.kind === "softmax") {
      const k0 = col.data.indexOf(Math.max(...col.data));
      col.data.forEach((p, k) => {
        const row = el("div", { class: "prob" + (k === k0 ? " top" : ""), "data-k": k, "data-p": p });
        const bar = el("span", { class: "bar" });
        bar.style.width = `${Math.round(100 * p)}%`;
        row.append(el("span", { class: "name" }, DATA.labels[k]), bar, el("span", { class: "num" }, fmt(p)));
        row.onclick = () => select(ci, k, 0, 0);
        div.append(row);
      });
    } else if (s) {
      const [C, H, W] = s, grid = el("div", { class: "maps" });
      // a signal's maps are one row high: stretched to a readable strip
      const sx = H === 1 ? Math.max(1, Math.min(6, Math.floor(200 / W))) : Math.max(1, Math.min(8, Math.floor(56 / Math.max(H, W))));
      const sy = H === 1 ? 10 : sx;
      for (let c = 0; c < C; c++) {
        const cv = el("canvas", { class: "map", "data-col": ci, "data-ch": c, title: `${label(col, c)}` });
        const cell = paint(cv, col.data, c * H * W, H, W, m, true);
        cv.style.width = `${W * (cell > 1 ? cell : sx)}px`; cv.style.height = `${H * (cell > 1 ? cell : sy)}px`;
        cv.onclick = (e) => {
          const r = cv.getBoundingClientRect();
          select(ci, c, Math.floor((e.clientY - r.top) / r.height * H), Math.floor((e.clientX - r.left) / r.width * W));
        };
        grid.append(cv);
      }
      div.append(grid);
    } else {  // a vector, 16 per row
      const n = col.data.length, W = Math.min(16, n), H = Math.ceil(n / W);
      const cv = el("canvas", { class: "map vec", "data-col": ci, "data-ch": 0 });
      const padded = new Float64Array(H * W); padded.set(col.data);
      paint(cv, padded, 0, H, W, m);
      cv.style.width = `${W * 6}px`; cv.style.height = `${H * 6}px`;
      cv.onclick = (e) => {
        const r = cv.getBoundingClientRect();
        const k = Math.floor((e.clientY - r.top) / r.height * H) * W + Math.floor((e.clientX - r.left) / r.width * W);
        select(ci, 0, 0, Math.min(n - 1, k));
      };
      div.append(cv);
    }
    box.append(div);
  });
}

function show(input, name) {
  state.input = input; state.exampleName = name;
  const ex = DATA.examples.find((e) => e.name === name) || DATA.examples[0];
  if (ex.name === name) state.lastExample = ex;
  state.cols = columnsFor(ex, input);
  renderOverview();
  document.querySelectorAll("#gallery .thumb").forEach((b) => {  // which example the overview shows
    const on = b.dataset.name === name;
    b.classList.toggle("sel", on); b.setAttribute("aria-pressed", String(on));
  });
  renderPrediction();
  if (state.sel) renderDetail();
}

// The answer above the overview: the softmax column is its last, often far to the right of a wide network.
function renderPrediction() {
  const box = $("prediction"), soft = state.cols[state.cols.length - 1];
  box.replaceChildren();
  if (soft.kind !== "softmax") return;
  const k = soft.data.indexOf(Math.max(...soft.data));
  const go = el("button", { id: "to-softmax" }, "show the softmax column →");
  go.onclick = () => {
    const ov = $("overview"), col = ov.lastElementChild;
    ov.scrollLeft = ov.scrollWidth;
    col.scrollIntoView({ block: "nearest", inline: "nearest" });
  };
  box.append("Prediction for ", el("b", {}, state.exampleName), ": ",
    el("b", { id: "predicted", "data-k": k }, DATA.labels[k]), ` (p = ${fmt(soft.data[k])}) `, go);
}

function renderGallery() {
  const box = $("gallery");
  box.append(el("h2", {}, "Examples"), el("p", { class: "meta" }, DATA.note || ""));
  const row = el("div", { class: "thumbs" });
  for (const ex of DATA.examples) {
    const pred = ex.probs.indexOf(Math.max(...ex.probs));
    const b = el("button", { class: `thumb ${ex.group}`, "data-name": ex.name });
    const s = shape3(DATA.input_shape), cv = el("canvas");
    photo(cv, inputOf(ex).data, s);
    cv.style.width = "48px"; cv.style.height = `${Math.max(8, Math.round(48 * s[1] / s[2]))}px`;
    const truth = ex.true === null || ex.true === undefined ? "" : `${DATA.labels[ex.true]} → `;
    const says = `${truth}${DATA.labels[pred]} ${fmt(ex.probs[pred])}`;
    b.title = `${ex.name}: ${truth ? "true " + truth : ""}predicted ${DATA.labels[pred]} (p = ${fmt(ex.probs[pred])})`;
    b.append(cv);
    if (ex.group === "yours") b.append(el("span", { class: "file" }, ex.name));  // your own file, by its name
    b.append(el("span", {}, says));
    b.onclick = () => show(inputOf(ex), ex.name);
    row.append(b);
  }
  box.append(row);
  if (DATA.draw) box.append(drawingPad());
}

// ---- drawing: a canvas averaged down to the input's pixels, ink and background as in the data ----------
// The canvas is drawn in the grey the network receives: black is the inputs' lowest value (lo), white their
// highest (hi), so a background of 0.431 on a 0..1 grey-photo run shows mid-grey, as the network gets it.
function drawingPad() {
  const [, H, W] = DATA.input_shape, side = 192, { background: bg, ink } = DATA.draw;
  const lo = DATA.draw.lo ?? Math.min(bg, ink), hi = DATA.draw.hi ?? Math.max(bg, ink);
  const grey = (v) => { const g = Math.round(hi > lo ? (255 * (v - lo)) / (hi - lo) : 0); return `rgb(${g},${g},${g})`; };
  const wrap = el("div", { class: "draw" });
  const cv = el("canvas", { id: "draw", width: side, height: Math.round(side * H / W) });
  const ctx = cv.getContext("2d", { willReadFrequently: true });  // read back on every stroke
  const clear = () => { ctx.fillStyle = grey(bg); ctx.fillRect(0, 0, cv.width, cv.height); };
  clear();
  let last = null, pending = false;
  const update = () => {
    pending = false;
    const img = ctx.getImageData(0, 0, cv.width, cv.height).data, x = new Float64Array(H * W);
    const bh = cv.height / H, bw = cv.width / W;
    for (let r = 0; r < H; r++) {
      for (let c = 0; c < W; c++) {
        let s = 0, n = 0;
        for (let y = Math.floor(r * bh); y < Math.floor((r + 1) * bh); y++) {
          for (let xx = Math.floor(c * bw); xx < Math.floor((c + 1) * bw); xx++) { s += img[4 * (y * cv.width + xx)]; n++; }
        }
        x[r * W + c] = n ? lo + (hi - lo) * (s / n / 255) : bg;  // the canvas's grey back to the input's value
      }
    }
    show({ shape: DATA.input_shape, data: x }, "your drawing");
  };
  const stroke = (e) => {
    const r = cv.getBoundingClientRect();
    const p = [(e.clientX - r.left) * cv.width / r.width, (e.clientY - r.top) * cv.height / r.height];
    ctx.strokeStyle = grey(ink); ctx.lineCap = "round"; ctx.lineWidth = 1.6 * cv.width / W;
    ctx.beginPath(); ctx.moveTo(...(last || p)); ctx.lineTo(...p); ctx.stroke();
    last = p;
    if (!pending) { pending = true; requestAnimationFrame(update); }
  };
  cv.addEventListener("pointerdown", (e) => { last = null; stroke(e); });
  cv.addEventListener("pointermove", (e) => { if (e.buttons & 1) stroke(e); });
  cv.addEventListener("pointerup", () => { last = null; });
  const btn = el("button", { id: "draw-clear" }, "clear");
  // a blank canvas is no example: clear goes back to the gallery example shown before drawing
  btn.onclick = () => { clear(); const ex = state.lastExample || DATA.examples[0]; show(inputOf(ex), ex.name); };
  wrap.append(el("h3", {}, "Draw one"), cv, btn);
  return wrap;
}

function init() {
  prepareLayers(DATA.layers);
  const box = $("selfcheck");
  const maxdiff = selfCheck(DATA, inputOf);
  if (maxdiff === null) {
    box.dataset.status = "recorded";
    box.textContent = `This page shows PyTorch's own activations of the examples: ${DATA.why}. ` +
      "Drawing and the per-window arithmetic need a model the page can run.";
  } else {
    box.dataset.maxdiff = String(maxdiff);
    box.dataset.status = maxdiff <= 1e-4 ? "ok" : "fail";
    const n = DATA.examples.length;
    box.textContent = `self-check: the page's own forward pass on ${n} example${n === 1 ? "" : "s"} against ` +
      `PyTorch's: largest |Δ probability| = ${maxdiff.toExponential(2)} ` +
      (maxdiff <= 1e-4 ? "(agrees)" : "(DISAGREES: please report this)");
  }
  box.className = "selfcheck " + box.dataset.status;
  const lg = $("legend"), bar = el("span", { class: "scale" });
  lg.append(el("span", {}, "−max"), bar, el("span", {}, "+max"),
    el("span", { class: "meta" }, " one diverging scale: each column is drawn from −m (blue) through 0 (white) to +m (red), m shown under its name"));
  renderGallery();
  show(inputOf(DATA.examples[0]), DATA.examples[0].name);
}

init();
