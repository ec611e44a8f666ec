// The arithmetic behind one clicked value: a convolution window's products and sum, a pooling window's
// winner, a dense unit's largest terms, the softmax. Computed here from the layer's input and weights,
// independently of the forward pass, so the page shows the course's formula giving the map's value.
"use strict";

function select(ci, ch, p, q) {
  stopPlay();
  state.sel = { ci, ch, p: Math.max(0, p), q: Math.max(0, q) };
  renderDetail();
  // the panel sits below the overview: bring it on screen, or a click seems to do nothing but an orange border
  $("detail").scrollIntoView({ block: "nearest" });
}
function stopPlay() {
  if (state.timer) clearInterval(state.timer);
  state.timer = null;
}

function numTable(rows, cls) {
  const t = el("table", { class: "nums " + (cls || "") });
  for (const row of rows) {
    const tr = el("tr");
    for (const cell of row) {
      const td = el("td", { class: cell.cls || "", "data-v": cell.v }, cell.text !== undefined ? cell.text : fmt(cell.v));
      tr.append(td);
    }
    t.append(tr);
  }
  return t;
}

function stepper(box, n, W) {
  const s = state.sel, bar = el("div", { class: "stepper" });
  const go = (d) => { const k = (s.p * W + s.q + d + n) % n; s.p = Math.floor(k / W); s.q = k % W; renderDetail(); };
  const prev = el("button", { id: "step-prev" }, "◀ window"), next = el("button", { id: "step-next" }, "window ▶");
  const play = el("button", { id: "step-play" }, state.timer ? "pause" : "play");
  prev.onclick = () => { stopPlay(); go(-1); };
  next.onclick = () => { stopPlay(); go(1); };
  play.onclick = () => {
    if (state.timer) { stopPlay(); renderDetail(); return; }
    state.timer = setInterval(() => go(1), 500);
    renderDetail();
  };
  bar.append(prev, next, play);
  box.append(bar);
}

function explainConv(box, col, prev) {
  const L = col.layer, [O, C, kh, kw] = L.shape, [, H, W] = prev.shape, [, Ho, Wo] = col.shape;
  const s = state.sel, o = s.ch, [sh, sw] = L.stride, [ph, pw] = L.pad;
  s.p = Math.max(0, Math.min(s.p, Ho - 1)); s.q = Math.max(0, Math.min(s.q, Wo - 1));
  box.append(el("p", {}, `Filter ${label(col, o)} of ${O}: ${kh}×${kw} over ${C} input channel(s), stride ${sh === sw ? sh : sh + "," + sw}, ` +
    `zero padding ${ph === pw ? ph : ph + "," + pw}${L.bn ? ", batch norm folded into W and b" : ""}: ` +
    `window (p, q) = (${s.p}, ${s.q}) of ${Ho}×${Wo}.`));
  stepper(box, Ho * Wo, Wo);
  if (C === 1 && H + 2 * ph <= 40 && W + 2 * pw <= 40) box.append(paddedInput(prev.data, H, W, ph, pw, kh, kw, s.p * sh, s.q * sw));
  let total = 0;
  const blocks = el("div", { class: "blocks" });
  for (let c = 0; c < C; c++) {
    const xs = [], ws = [], ps = [];
    let sub = 0;
    for (let i = 0; i < kh; i++) {
      const xr = [], wr = [], pr = [];
      for (let j = 0; j < kw; j++) {
        const r = s.p * sh + i - ph, q = s.q * sw + j - pw;
        const inside = r >= 0 && r < H && q >= 0 && q < W;
        const x = inside ? prev.data[(c * H + r) * W + q] : 0, w = L.w[((o * C + c) * kh + i) * kw + j];
        xr.push({ v: x, cls: inside ? "" : "pad" }); wr.push({ v: w }); pr.push({ v: w * x, cls: "prod" });
        sub += w * x;
      }
      xs.push(xr); ws.push(wr); ps.push(pr);
    }
    total += sub;
    const b = el("div", { class: "block" });
    b.append(el("h4", {}, C > 1 ? `channel ${c}: Σ = ${fmt(sub)}` : "window X, filter W, products W·X"),
      numTable(xs, "x"), el("span", { class: "op" }, "·"), numTable(ws, "w"), el("span", { class: "op" }, "="), numTable(ps, "p"));
    blocks.append(b);
  }
  box.append(blocks);
  const value = total + L.b[o], shown = col.data[(o * Ho + s.p) * Wo + s.q];
  const f = el("p", { class: "formula" });
  // the course's X_{i+p,j+q} holds for stride 1 only; with stride s window (p, q) starts at row s·p
  const xi = sh > 1 ? `i+${sh}p` : "i+p", xj = sw > 1 ? `j+${sw}q` : "j+q";
  f.innerHTML = `Σ W<sub>ij</sub> X<sub>${xi},${xj}</sub> + b = `;
  f.append(el("span", { id: "calc-sum", "data-v": total }, fmt(total)), " + ",
    el("span", { id: "calc-bias", "data-v": L.b[o] }, fmt(L.b[o])), " = ",
    el("span", { id: "calc-value", "data-v": value }, fmt(value)), " — the map shows ",
    el("span", { id: "calc-activation", "data-v": shown }, fmt(shown)));
  box.append(f);
}

// The layer's input with its zero padding, the current window outlined.
function paddedInput(d, H, W, ph, pw, kh, kw, r0, c0) {
  const rows = [];
  for (let r = 0; r < H + 2 * ph; r++) {
    const row = [];
    for (let c = 0; c < W + 2 * pw; c++) {
      const inside = r >= ph && r < H + ph && c >= pw && c < W + pw;
      const inWin = r >= r0 && r < r0 + kh && c >= c0 && c < c0 + kw;
      row.push({ v: inside ? d[(r - ph) * W + c - pw] : 0, cls: (inside ? "" : "pad") + (inWin ? " win" : "") });
    }
    rows.push(row);
  }
  const b = el("div", { class: "block" });
  b.append(el("h4", {}, ph || pw ? "input with its zero padding (grey)" : "input"), numTable(rows, "grid"));
  return b;
}

function explainPool(box, col, prev) {
  const L = col.layer, [, H, W] = prev.shape, [, Ho, Wo] = col.shape, [kh, kw] = L.k, [sh, sw] = L.stride;
  const s = state.sel, c = s.ch;
  s.p = Math.max(0, Math.min(s.p, Ho - 1)); s.q = Math.max(0, Math.min(s.q, Wo - 1));
  box.append(el("p", {}, `${L.kind === "maxpool" ? "Max" : "Average"} pooling, ${kh}×${kw} windows, stride ${sh}: ` +
    `channel ${c}, window (${s.p}, ${s.q}) of ${Ho}×${Wo}.`));
  stepper(box, Ho * Wo, Wo);
  let best = -Infinity, sum = 0;
  const vals = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const v = prev.data[(c * H + s.p * sh + i) * W + s.q * sw + j];
      vals.push(v); best = Math.max(best, v); sum += v;
    }
  }
  const rows = [];
  for (let i = 0; i < kh; i++) {
    rows.push(vals.slice(i * kw, (i + 1) * kw).map((v) => ({ v, cls: L.kind === "maxpool" && v === best ? "win" : "" })));
  }
  const value = L.kind === "maxpool" ? best : sum / (kh * kw);
  box.append(numTable(rows, "x"));
  const f = el("p", { class: "formula" }, L.kind === "maxpool" ? "max of the window = " : "mean of the window = ");
  f.append(el("span", { id: "calc-value", "data-v": value }, fmt(value)), " — the map shows ",
    el("span", { id: "calc-activation", "data-v": col.data[(c * Ho + s.p) * Wo + s.q] }, fmt(col.data[(c * Ho + s.p) * Wo + s.q])));
  box.append(f);
}

function explainDense(box, col, prev) {
  const L = col.layer, [, I] = L.shape, k = state.sel.q, terms = [];
  let total = 0;
  for (let i = 0; i < I; i++) { const t = L.w[k * I + i] * prev.data[i]; terms.push([i, t]); total += t; }
  terms.sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]));
  box.append(el("p", {}, `Unit ${label(col, k)}: y = Σ_i W_i x_i + b over ${I} inputs${L.bn ? " (batch norm folded)" : ""}; its 12 largest terms:`));
  box.append(numTable([[{ text: "i" }, ...terms.slice(0, 12).map(([i]) => ({ text: String(i) }))],
    [{ text: "W·x" }, ...terms.slice(0, 12).map(([, t]) => ({ v: t }))]], "x"));
  const value = total + L.b[k], f = el("p", { class: "formula" }, "Σ W x + b = ");
  f.append(el("span", { id: "calc-sum", "data-v": total }, fmt(total)), " + ",
    el("span", { id: "calc-bias", "data-v": L.b[k] }, fmt(L.b[k])), " = ",
    el("span", { id: "calc-value", "data-v": value }, fmt(value)), " — the layer shows ",
    el("span", { id: "calc-activation", "data-v": col.data[k] }, fmt(col.data[k])));
  box.append(f);
}

function explainSoftmax(box, col, prev) {
  const y = prev.data, e = Array.from(y, Math.exp), s = e.reduce((a, b) => a + b, 0);
  box.append(el("p", { class: "formula" }, `p_i = e^{y_i} / Σ_j e^{y_j}, with Σ_j e^{y_j} = ${fmt(s)}`));
  const rows = [[{ text: "class" }, { text: "y_i" }, { text: "e^{y_i}" }, { text: "p_i" }, { text: "page" }]];
  y.forEach((v, i) => rows.push([{ text: DATA.labels[i], cls: i === state.sel.ch ? "win" : "" }, { v }, { v: e[i] },
    { v: e[i] / s, cls: "calc-p" }, { v: col.data[i] }]));
  box.append(numTable(rows, "soft"));
}

function renderDetail() {
  const box = $("detail"), s = state.sel, col = state.cols[s.ci], prev = state.cols[s.ci - 1];
  box.replaceChildren(el("h2", {}, `${title(col)} · ${state.exampleName}`));
  document.querySelectorAll("#overview .sel").forEach((e) => e.classList.remove("sel"));
  const map = document.querySelector(`#overview canvas[data-col="${s.ci}"][data-ch="${s.ch}"]`);
  if (map) map.classList.add("sel");
  if (!col.layer) {
    const m = shape3(col.shape), k = m ? (s.ch * m[1] + s.p) * m[2] + s.q : s.q;
    box.append(el("p", {}, col.kind === "input" ? "The input as the network gets it (before its normalization layer)."
      : `Recorded by PyTorch at export; the arithmetic needs a model the page can run (${DATA.why}).`), el("p", {}, `value ${fmt(col.data[k] || 0)}`));
    return;
  }
  const kind = col.kind, sh = shape3(prev.shape), flat = s.ch * (sh ? sh[1] * sh[2] : 0) + (sh ? s.p * sh[2] + s.q : s.q);
  if (kind === "conv") explainConv(box, col, prev);
  else if (kind === "maxpool" || kind === "avgpool") explainPool(box, col, prev);
  else if (kind === "dense") explainDense(box, col, prev);
  else if (kind === "softmax") explainSoftmax(box, col, prev);
  else if (kind === "normalize") {
    const c = s.ch;
    box.append(el("p", { class: "formula" }, `(x − mean) / std = (${fmt(prev.data[flat])} − ${fmt(col.layer.mean[c])}) / ${fmt(col.layer.std[c])} = ${fmt(col.data[flat])}`));
  } else if (kind === "flatten") {
    box.append(el("p", {}, `Flatten lays the ${prev.shape.join("×")} maps out as one vector of ${col.data.length} values, channel by channel, row by row.`));
  } else {
    box.append(el("p", { class: "formula" }, `${kind}(${fmt(prev.data[flat])}) = ${fmt(col.data[flat])}`));
  }
}
