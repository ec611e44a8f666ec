// The explainer page's forward pass: exact, small, in Float64 (weights arrive as float32 from PyTorch).
// Written by hand instead of pulling in a JS tensor library: the page must stay one small offline file,
// and every step here is one of the course's formulas that the page also shows number by number.
"use strict";

function decodeF32(b64) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return Float64Array.from(new Float32Array(bytes.buffer));
}

// IEEE half-precision bytes (a big dense layer's weights, explain/page_size.py) as Float64Array.
// By hand rather than Float16Array, which older browsers lack.
function decodeF16(b64) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const h = new Uint16Array(bytes.buffer), out = new Float64Array(h.length);
  for (let i = 0; i < h.length; i++) {
    const s = h[i] & 0x8000 ? -1 : 1, e = (h[i] >> 10) & 0x1f, m = h[i] & 0x3ff;
    out[i] = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return out;
}

// Decoded weights, once per layer.
function prepareLayers(layers) {
  for (const L of layers || []) {
    if (typeof L.w16 === "string") { L.w = decodeF16(L.w16); L.half = true; delete L.w16; }
    for (const key of ["w", "b", "mean", "std"]) {
      if (typeof L[key] === "string") L[key] = decodeF32(L[key]);
    }
  }
  return layers;
}

function outSize(n, k, s, p) { return Math.floor((n + 2 * p - k) / s) + 1; }

// Σ_c Σ_ij W[o,c,i,j] X[c, p*s+i-pad, q*s+j-pad] + b[o]: the course's Σ W_ij X_{i+p,j+q} + b over channels.
function conv(L, t) {
  const [O, C, kh, kw] = L.shape, [, H, W] = t.shape;
  const [sh, sw] = L.stride, [ph, pw] = L.pad;
  const Ho = outSize(H, kh, sh, ph), Wo = outSize(W, kw, sw, pw);
  const out = new Float64Array(O * Ho * Wo), x = t.data, w = L.w;
  for (let o = 0; o < O; o++) {
    for (let p = 0; p < Ho; p++) {
      const r0 = p * sh - ph, i0 = Math.max(0, -r0), i1 = Math.min(kh, H - r0);  // rows inside the input
      for (let q = 0; q < Wo; q++) {
        const c0 = q * sw - pw, j0 = Math.max(0, -c0), j1 = Math.min(kw, W - c0);  // zero padding adds nothing
        let s = L.b[o];
        for (let c = 0; c < C; c++) {
          for (let i = i0; i < i1; i++) {
            const wi = ((o * C + c) * kh + i) * kw, xi = (c * H + r0 + i) * W + c0;
            for (let j = j0; j < j1; j++) s += w[wi + j] * x[xi + j];
          }
        }
        out[(o * Ho + p) * Wo + q] = s;
      }
    }
  }
  return { shape: [O, Ho, Wo], data: out };
}

function pool(L, t) {
  const [C, H, W] = t.shape, [kh, kw] = L.k, [sh, sw] = L.stride;
  const Ho = outSize(H, kh, sh, 0), Wo = outSize(W, kw, sw, 0);
  const out = new Float64Array(C * Ho * Wo), x = t.data;
  for (let c = 0; c < C; c++) {
    for (let p = 0; p < Ho; p++) {
      for (let q = 0; q < Wo; q++) {
        let m = L.kind === "maxpool" ? -Infinity : 0;
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            const v = x[(c * H + p * sh + i) * W + q * sw + j];
            m = L.kind === "maxpool" ? Math.max(m, v) : m + v;
          }
        }
        out[(c * Ho + p) * Wo + q] = L.kind === "maxpool" ? m : m / (kh * kw);
      }
    }
  }
  return { shape: [C, Ho, Wo], data: out };
}

function dense(L, t) {
  const [O, I] = L.shape, out = new Float64Array(O), x = t.data;
  for (let o = 0; o < O; o++) {
    let s = L.b[o];
    for (let i = 0; i < I; i++) s += L.w[o * I + i] * x[i];
    out[o] = s;
  }
  return { shape: [O], data: out };
}

const ACTIVATIONS = {
  relu: () => (v) => Math.max(0, v),
  tanh: () => Math.tanh,
  sigmoid: () => (v) => 1 / (1 + Math.exp(-v)),
  leaky_relu: (L) => (v) => (v >= 0 ? v : L.slope * v),
  elu: (L) => (v) => (v > 0 ? v : L.alpha * (Math.exp(v) - 1)),
};

// softmax(y)_i = e^{y_i} / Σ_j e^{y_j}, computed as e^{y_i - max y} (the same numbers without overflow).
function softmax(t) {
  const y = t.data, m = Math.max(...y);
  const e = y.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return { shape: [y.length], data: e.map((v) => v / s) };
}

function applyLayer(L, t) {
  if (L.kind === "normalize") {
    const [C, H, W] = t.shape, out = new Float64Array(t.data.length);
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < H * W; i++) out[c * H * W + i] = (t.data[c * H * W + i] - L.mean[c]) / L.std[c];
    }
    return { shape: t.shape, data: out };
  }
  if (L.kind === "conv") return conv(L, t);
  if (L.kind === "maxpool" || L.kind === "avgpool") return pool(L, t);
  if (L.kind === "dense") return dense(L, t);
  if (L.kind === "flatten") return { shape: [t.data.length], data: t.data };
  if (L.kind === "softmax") return softmax(t);
  if (ACTIVATIONS[L.kind]) return { shape: t.shape, data: t.data.map(ACTIVATIONS[L.kind](L)) };
  throw new Error("the page cannot run a layer of kind " + L.kind);
}

// Every column of the overview: the input, then each layer's output (with the layer that made it).
function forward(layers, input) {
  const cols = [{ name: "input", kind: "input", layer: null, ...input }];
  let t = input;
  for (const L of layers) {
    t = applyLayer(L, t);
    cols.push({ name: L.name, kind: L.kind, layer: L, shape: t.shape, data: t.data });
  }
  return cols;
}

// max |p_page - p_torch| over the gallery: the page's promise that its numbers are PyTorch's.
function selfCheck(data, inputOf) {
  if (!data.layers) return null;
  let maxdiff = 0;
  for (const ex of data.examples) {
    const cols = forward(data.layers, inputOf(ex));
    const p = cols[cols.length - 1].data;
    ex.probs.forEach((v, k) => { maxdiff = Math.max(maxdiff, Math.abs(v - p[k])); });
  }
  return maxdiff;
}
