"""C99 source for one plain (single-width) model: the engine behind `namx convert --to c` (spec §14).

An engine is a state struct, a `zero` function (the core's zero state) and a `chunk` function that
processes at most CHUNK samples, channel-major: `x` is [in][CHUNK], `y` is [out][CHUNK]. Every size
is a literal, so the compiler sees fixed loop bounds. A convolution with history keeps its input in
a ring of R = history + CHUNK columns, followed by a copy of its first TILE columns: every tile of
TILE samples it reads is contiguous, and a call costs the same whatever the history length
(nothing is shifted). Work is done in register tiles of TILE samples. `process` splits any n
into chunks; `init` runs the core's prewarm (zeros) from the zero state, exactly as the NumPy
reference computes the initial state. A condition_dsp is an engine nested in its WaveNet's state.
"""
from __future__ import annotations

import re

import numpy as np

from namx.activations import FASTTANH, Activation
from namx.backends import ONE_WIDTH_AT_A_TIME, architecture
from namx.errors import NamxError
from namx.metadata import copied
from namx.model import LSTM, Container, Conv, ConvNet, Linear, Model, WaveNet
from namx.spec import SPEC_VERSION
from namx.stats import prewarm_samples, receptive_field

CHUNK = 64
TILE = 8  # samples per register tile; chunks are computed in whole tiles
OBLOCK = 8  # outputs per register tile
POSITION_BYTES_M7 = 4  # a ring position is a size_t: 4 bytes on a 32-bit MCU


def identifier(text: str) -> str:
    """A C identifier made of lowercase letters, digits and underscores."""
    s = re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower() or "model"
    return s if not s[0].isdigit() else "m" + s


def flt(v) -> str:
    """A float32 value as the shortest C literal that reads back as the same float."""
    v = np.float32(v)
    if not np.isfinite(v):
        raise NamxError(f"cannot write the non-finite weight {v} as C")
    s = str(v)
    return (s if ("." in s or "e" in s) else s + ".0") + "f"


class Source:
    """What the engines of one file share: constant arrays and the helper functions they use."""

    def __init__(self):
        self.consts: list[str] = []
        self.helpers: dict[str, str] = {}
        self.row_functions: dict[str, str] = {}
        self.weight_bytes = 0

    def const(self, name: str, values) -> str:
        flat = np.asarray(values, np.float32).reshape(-1)
        self.weight_bytes += 4 * flat.size
        rows = [", ".join(flt(v) for v in flat[i:i + 8]) for i in range(0, flat.size, 8)]
        self.consts.append(f"static const float {name}[{max(flat.size, 1)}] = {{\n    " + ",\n    ".join(rows) + "\n};")
        return name

    def matvec(self, k: int, o: int, i: int) -> str:
        """y[o][t] (+)= b[o] + sum_k sum_i w[k][i][o] * x[i][(off + k*d + t) mod r] for t < nv (a multiple of TILE).

        Tiles of TILE samples by at most OBLOCK outputs keep their sums in registers; the sum is
        formed on its own and then added to y (as the reference adds a conv's result to the
        residual), so small products are not rounded against a large accumulator."""
        name = f"mv_{k}_{o}_{i}"
        if name not in self.helpers:
            calls = []
            for o0 in range(0, o, OBLOCK):
                ob = min(OBLOCK, o - o0)
                tile = self._tile(k, ob, i, o)
                calls.append(f"    {tile}(w + {o0}, b ? b + {o0} : NULL, x, ld, off, r, d, y + {o0} * CHUNK, nv, acc);")
            self.helpers[name] = (f"static void {name}(const float *restrict w, const float *restrict b, "
                                  "const float *restrict x,\n    size_t ld, size_t off, size_t r, size_t d, float *restrict y, size_t nv, int acc)\n"
                                  "{\n" + "\n".join(calls) + "\n}")
        return name

    def _tile(self, k: int, ob: int, i: int, stride: int) -> str:
        """One block of `ob` outputs: GNU C vectors of TILE floats as named register accumulators
        (gcc and clang), else plain arrays. Taps in the reference's order: the current one, then
        the oldest to the newest; the bias last."""
        name = f"tile_{k}_{ob}_{i}_{stride}"
        if name in self.helpers:
            return name
        outs = range(ob)
        head = f"""static void {name}(const float *restrict w, const float *restrict b, const float *restrict x,
    size_t ld, size_t off, size_t r, size_t d, float *restrict y, size_t nv, int acc)
{{
    size_t t0, q, ii;
    for (t0 = 0; t0 < nv; t0 += TILE) {{"""
        taps = f"""        for (q = 0; q < {k}; q++) {{
            const size_t kk = q == 0 ? {k - 1} : q - 1;
            const size_t at = off + kk * d + t0 < r ? off + kk * d + t0 : off + kk * d + t0 - r;
            for (ii = 0; ii < {i}; ii++) {{
                const float *restrict xi = x + ii * ld + at;
                const float *restrict wi = w + (kk * {i} + ii) * {stride};"""
        vec = "\n".join([
            "        vf " + ", ".join(f"a{o}" for o in outs) + ", v;",
            "        memset(&v, 0, sizeof v);",
            *(f"        a{o} = v;" for o in outs),
            taps,
            "                memcpy(&v, xi, sizeof v);",
            *(f"                a{o} += wi[{o}] * v;" for o in outs),
            "            }", "        }",
            *(f"        a{o} += b ? b[{o}] : 0.0f;\n"
              f"        if (acc) {{ memcpy(&v, y + {o} * CHUNK + t0, sizeof v); a{o} += v; }}\n"
              f"        memcpy(y + {o} * CHUNK + t0, &a{o}, sizeof v);" for o in outs),
        ])
        scalar = "\n".join([
            f"        float a[{ob}][TILE];",
            "        size_t oo, tt;",
            f"        for (oo = 0; oo < {ob}; oo++) for (tt = 0; tt < TILE; tt++) a[oo][tt] = 0.0f;",
            taps,
            f"                for (oo = 0; oo < {ob}; oo++) for (tt = 0; tt < TILE; tt++) a[oo][tt] += wi[oo] * xi[tt];",
            "            }", "        }",
            f"        for (oo = 0; oo < {ob}; oo++) for (tt = 0; tt < TILE; tt++) {{",
            "            const float v = a[oo][tt] + (b ? b[oo] : 0.0f);",
            "            y[oo * CHUNK + t0 + tt] = acc ? y[oo * CHUNK + t0 + tt] + v : v;",
            "        }",
        ])
        self.helpers[name] = f"{head}\n#if NAMX_VECTORS\n{vec}\n#else\n{scalar}\n#endif\n    }}\n}}"
        return name

    def rows(self, expr: str) -> str:
        """A function applying `expr` (of v) in place to n floats."""
        name = self.row_functions.get(expr)
        if name is None:
            name = self.row_functions[expr] = f"apply{len(self.row_functions)}"
            self.helpers[name] = (f"static void {name}(float *x, size_t n)\n{{\n    size_t i;\n"
                                  f"    for (i = 0; i < n; i++) {{ const float v = x[i]; x[i] = {expr}; }}\n}}")
        return name

    def helper(self, name: str) -> str:
        if name not in self.helpers:
            self.helpers[name] = HELPERS[name]
        return name


HELPERS = {
    "ring_write": """static void ring_write(float *h, size_t r, size_t p, const float *x, size_t rows, size_t n)
{
    /* columns p..p+n-1 (mod r); columns 0..TILE-1 again after column r-1, so a tile's read
       that starts before r stays contiguous */
    const size_t first = n < r - p ? n : r - p;
    size_t c;
    for (c = 0; c < rows; c++) {
        float *row = h + c * (r + TILE);
        const float *xc = x + c * CHUNK;
        memcpy(row + p, xc, first * sizeof(float));
        memcpy(row, xc + first, (n - first) * sizeof(float));
        memcpy(row + r, row, TILE * sizeof(float));
    }
}""",
    "sigmoid": "INLINE float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }",
    # tanh within 1.5 ulp of the exact value, with no libm call and no float-to-int conversion, so
    # that loops over it vectorise: an odd minimax polynomial below 0.55, else 1 - 2/(e^2|x| + 1)
    # with e^y = 2^k e^r (Taylor, |r| <= ln2/2, ln2 split for an exact reduction); +-1 from 9 on.
    "tanh32": """INLINE float tanh32(float x)
{
    const float ax = fabsf(x), u = x * x;
    const float p = ((((0.002427309053018689f * u - 0.008440094068646431f) * u + 0.021790826693177223f) * u
                     - 0.05396074801683426f) * u + 0.1333329975605011f) * u - 0.3333333432674408f;
    const float y = 2.0f * ax;
    const float m = y * 1.44269504f + 12582912.0f; /* 1.5 * 2^23: m's low bits hold k = round(y / ln2) */
    const float k = m - 12582912.0f;
    const float r = (y - k * 0.693145751953125f) - k * 1.428606765330187e-06f;
    const float e = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120
        + r * (1.0f / 720 + r * (1.0f / 5040)))))));
    uint32_t bits;
    float s, big;
    memcpy(&bits, &m, sizeof bits);
    bits = (bits - 0x4B400000u + 127u) << 23; /* 2^k (meaningless, but harmless, from |x| = 9 on) */
    memcpy(&s, &bits, sizeof s);
    big = 1.0f - 2.0f / (e * s + 1.0f);
    big = x < 0.0f ? -big : big;
    big = ax < 9.0f ? big : (x < 0.0f ? -1.0f : 1.0f);
    return ax < 0.55f ? x + x * u * p : (ax == ax ? big : x); /* NaN stays NaN */
}""",
}
_C0, _C1, _C2, _C3, _C4 = (flt(v) for v in FASTTANH)
HELPERS["fasttanh"] = f"""INLINE float fasttanh(float x)
{{
    const float ax = fabsf(x), x2 = x * x;
    return (x * ({_C0} + {_C0} * ax + ({_C1} + {_C2} * ax) * x2)) / ({_C3} + ({_C3} + x2) * fabsf(x + {_C4} * x * ax));
}}"""


class Engine:
    """The C for one plain model: `cname`_state, `cname`_zero and `cname`_chunk."""

    def __init__(self, model: Model, cname: str, src: Source):
        self.model, self.net, self.cname, self.src = model, model.net, cname, src
        self.fields: list[str] = []
        self.zero: list[str] = []
        self.body: list[str] = []
        self.scratch: dict[str, int] = {}
        self.nested: list[Engine] = []
        self.n = 0
        self.state_floats = 0
        self.positions = 0
        self.in_channels, self.out_channels = self.net.in_channels, self.net.out_channels
        architecture(ARCHITECTURES, model)(self)

    # ---- pieces --------------------------------------------------------------------------------

    def _id(self, stem: str) -> str:
        self.n += 1
        return f"{self.cname}_{stem}{self.n}"

    def buf(self, name: str, rows: int) -> str:
        """A scratch buffer [rows][CHUNK] local to the chunk function (the largest request wins)."""
        self.scratch[name] = max(self.scratch.get(name, 0), rows)
        return name

    def conv(self, c: Conv, x: str, y: str, acc: bool = False) -> None:
        """y (+)= conv(x); a convolution with history reads it from its ring in the state."""
        k, o, i = c.dense().shape
        w = self.src.const(self._id("w"), c.dense().transpose(0, 2, 1))  # (K, in, out): a tile's outputs are adjacent
        b = "NULL" if c.bias is None else self.src.const(self._id("b"), c.bias)
        mv = self.src.matvec(k, o, i)
        if c.history == 0:
            self.body.append(f"{mv}({w}, {b}, {x}, CHUNK, 0, CHUNK, 0, {y}, nv, {int(acc)});")
            return
        h, r = c.history, c.history + CHUNK
        self.positions += 1
        fld, fpos = f"ring{self.positions}", f"pos{self.positions}"
        self.fields += [f"float {fld}[{i * (r + TILE)}];", f"size_t {fpos};"]
        self.state_floats += i * (r + TILE)
        self.zero += [f"memset(s->{fld}, 0, sizeof s->{fld});", f"s->{fpos} = 0;"]
        self.src.helper("ring_write")
        self.body.append(
            f"{{ const size_t st = (s->{fpos} + {r - h}) % {r};\n"
            f"  ring_write(s->{fld}, {r}, s->{fpos}, {x}, {i}, n);\n"
            f"  {mv}({w}, {b}, s->{fld}, {r + TILE}, st, {r}, {c.dilation}, {y}, nv, {int(acc)});\n"
            f"  s->{fpos} = (s->{fpos} + n) % {r}; }}")

    def act(self, a: Activation, buf: str, rows: int, src: str | None = None) -> None:
        """buf[r][t] = a(src[r][t]) for r < rows (src defaults to buf)."""
        src = src or buf
        slopes = None
        if a.name == "PReLU" and a.slopes:
            slopes = self.src.const(self._id("slope"), a.slopes)
        expr = ACTIVATIONS[a.name](self.src, a, "v", slopes)
        if slopes is None and "(" in expr.replace("(v", ""):
            # A call (tanh32, sigmoid...) is inlined, and its loop vectorised, only in a small
            # function of its own: in the chunk function the compiler keeps it a call.
            if src != buf:
                self.body.append(f"memcpy({buf}, {src}, {rows} * CHUNK * sizeof(float));")
            self.body.append(f"{self.src.rows(expr)}({buf}, {rows} * CHUNK);")
            return
        self.body.append(f"for (r = 0; r < {rows}; r++) for (t = 0; t < nv; t++) "
                         f"{{ const float v = {src}[r * CHUNK + t]; {buf}[r * CHUNK + t] = {expr}; }}")

    def loop(self, rows: int, stmt: str) -> None:
        self.body.append(f"for (r = 0; r < {rows}; r++) for (t = 0; t < nv; t++) {{ const size_t j = r * CHUNK + t; {stmt} }}")

    # ---- WaveNet -------------------------------------------------------------------------------

    def _film(self, film, cond: str, src: str, dst: str) -> None:
        """dst = src * scale (+ shift), [scale; shift] = film.conv(cond)."""
        ss = self.buf("ss", film.conv.out_channels)
        self.conv(film.conv, cond, ss)
        shift = f" + {ss}[j + {film.dim} * CHUNK]" if film.shift else ""
        self.loop(film.dim, f"{dst}[j] = {src}[j] * {ss}[j]{shift};")

    def _wavenet(self) -> None:
        net: WaveNet = self.net
        for c in net.convs():
            if c.history and not any(c is x for x in _stateful_convs(net)):
                raise NamxError(f"{self.model.source}: a kernel > 1 where the core keeps no history")
        cond = "x"
        if net.condition is not None:
            sub = Engine(net.condition, f"{self.cname}_cond", self.src)
            self.nested.append(sub)
            self.fields.append(f"{sub.cname}_state cond;")
            self.zero.append(f"{sub.cname}_zero(&s->cond);")
            cond = self.buf("cond", sub.out_channels)
            self.body.append(f"{sub.cname}_chunk(&s->cond, x, {cond}, n);")
        h_in, head_in = "x", None
        for ai, arr in enumerate(net.arrays):
            h = self.buf(f"h{ai}", arr.channels)
            self.conv(arr.rechannel, h_in, h)
            acc = self.buf(f"acc{ai}", arr.layers[0].head_out)
            for li, layer in enumerate(arr.layers):
                self._layer(layer, h, cond, acc, first=li == 0, head_in=head_in)
            out = self.buf(f"head{ai}", arr.head_size)
            self.conv(arr.head, acc, out)
            h_in, head_in = h, out
        y, rows = head_in, net.arrays[-1].head_size
        scale = flt(net.head_scale)
        if net.post_head is None:
            self.loop(rows, f"y[j] = {scale} * {y}[j];")
            return
        cur = self.buf("post_a", rows)
        self.loop(rows, f"{cur}[j] = {scale} * {y}[j];")
        for k, c in enumerate(net.post_head.convs):
            self.act(net.post_head.activation, cur, c.in_channels)
            nxt = "y" if k == len(net.post_head.convs) - 1 else self.buf("post_b" if cur == "post_a" else "post_a",
                                                                         c.out_channels)
            self.conv(c, cur, nxt)
            cur = nxt

    def _filmed_conv(self, conv: Conv, films: dict, slot: str, cond: str, x: str, y: str, scratch: str) -> None:
        """y = conv(x), with the layer's FiLM `<slot>_pre_film` on its input and `<slot>_post_film`
        on its output where the layer has them (scratch: the buffer the pre-FiLM input goes in)."""
        if f"{slot}_pre_film" in films:
            filmed = self.buf(scratch, conv.in_channels)
            self._film(films[f"{slot}_pre_film"], cond, x, filmed)
            x = filmed
        self.conv(conv, x, y)
        if f"{slot}_post_film" in films:
            self._film(films[f"{slot}_post_film"], cond, y, y)

    def _layer(self, L, h: str, cond: str, acc: str, first: bool, head_in: str | None) -> None:
        f = L.films
        b, bg = L.bottleneck, L.conv.out_channels
        z = self.buf("z", bg)
        self._filmed_conv(L.conv, f, "conv", cond, h, z, "xf")
        if "input_mixin_pre_film" in f or "input_mixin_post_film" in f:
            m = self.buf("m", bg)
            self._filmed_conv(L.mixin, f, "input_mixin", cond, cond, m, "cf")
            self.loop(bg, f"{z}[j] += {m}[j];")
        else:
            self.conv(L.mixin, cond, z, acc=True)
        if "activation_pre_film" in f:
            self._film(f["activation_pre_film"], cond, z, z)
        if L.gating == "none":
            self.act(L.activation, z, b)
        else:
            g = self.buf("g", b)
            self.act(L.secondary, g, b, src=f"({z} + {b} * CHUNK)")
            a = self.buf("a", b)
            self.act(L.activation, a, b, src=z)
            if L.gating == "gated":
                self.loop(b, f"{z}[j] = {a}[j] * {g}[j];")
            else:
                self.loop(b, f"{z}[j] = {g}[j] * {a}[j] + (1.0f - {g}[j]) * {z}[j];")
        if "activation_post_film" in f:
            self._film(f["activation_post_film"], cond, z, z)
        if L.layer1x1 is not None:
            if L.gating == "blended" and "layer1x1_post_film" in f:
                r = self.buf("res", L.layer1x1.out_channels)
                self.conv(L.layer1x1, z, r)
                self._film(f["layer1x1_post_film"], cond, r, r)
                self.loop(L.layer1x1.out_channels, f"{h}[j] += {r}[j];")
            else:
                self.conv(L.layer1x1, z, h, acc=True)
        head, rows = z, b
        if L.head1x1 is not None:
            head, rows = self.buf("hh", L.head1x1.out_channels), L.head1x1.out_channels
            self.conv(L.head1x1, z, head)
            if "head1x1_post_film" in f:
                self._film(f["head1x1_post_film"], cond, head, head)
        if first and head_in is None:
            self.loop(rows, f"{acc}[j] = {head}[j];")
        elif first:
            self.loop(rows, f"{acc}[j] = {head_in}[j] + {head}[j];")
        else:
            self.loop(rows, f"{acc}[j] += {head}[j];")

    # ---- LSTM, ConvNet, Linear -----------------------------------------------------------------

    def _lstm(self) -> None:
        net: LSTM = self.net
        sig = self.src.helper("sigmoid")
        lines = [f"float in[{max(net.in_channels, 1)}];",
                 f"for (r = 0; r < {net.in_channels}; r++) in[r] = x[r * CHUNK + t];"]
        prev, prev_n = "in", net.in_channels
        for ci, cell in enumerate(net.cells):
            hs, ni = cell.hidden_size, prev_n
            wt = self.src.const(self._id("w"), np.asarray(cell.w, np.float32).T)  # (in+H, 4H): vectorises over rows
            bb = self.src.const(self._id("b"), cell.b)
            h0 = self.src.const(self._id("h0"), cell.h0)
            c0 = self.src.const(self._id("c0"), cell.c0)
            self.fields += [f"float h{ci}[{hs}];", f"float c{ci}[{hs}];"]
            self.state_floats += 2 * hs
            self.zero += [f"memcpy(s->h{ci}, {h0}, sizeof s->h{ci});", f"memcpy(s->c{ci}, {c0}, sizeof s->c{ci});"]
            lines += [
                "{",
                f"  float g[{4 * hs}];",
                f"  for (r = 0; r < {4 * hs}; r++) g[r] = {bb}[r];",
                f"  for (q = 0; q < {ni}; q++) {{ const float v = {prev}[q]; for (r = 0; r < {4 * hs}; r++) g[r] += {wt}[q * {4 * hs} + r] * v; }}",
                f"  for (q = 0; q < {hs}; q++) {{ const float v = s->h{ci}[q]; for (r = 0; r < {4 * hs}; r++) g[r] += {wt}[({ni} + q) * {4 * hs} + r] * v; }}",
                f"  for (r = 0; r < {hs}; r++) {{",
                f"    s->c{ci}[r] = {sig}(g[{hs} + r]) * s->c{ci}[r] + {sig}(g[r]) * tanhf(g[{2 * hs} + r]);",
                f"    s->h{ci}[r] = {sig}(g[{3 * hs} + r]) * tanhf(s->c{ci}[r]);",
                "  }",
                "}",
            ]
            prev, prev_n = f"s->h{ci}", hs
        hw = self.src.const(self._id("hw"), net.head_w)
        hb = self.src.const(self._id("hb"), net.head_b)
        lines.append(f"for (r = 0; r < {net.out_channels}; r++) {{ float acc = {hb}[r]; "
                     f"for (q = 0; q < {prev_n}; q++) acc += {hw}[r * {prev_n} + q] * {prev}[q]; y[r * CHUNK + t] = acc; }}")
        self.body.append("for (t = 0; t < n; t++) {\n  size_t q;\n  " + "\n  ".join(lines) + "\n}")

    def _convnet(self) -> None:
        net: ConvNet = self.net
        cur = "x"
        for i, block in enumerate(net.blocks):
            nxt = self.buf("ba" if cur != "ba" else "bb", block.out_channels)
            self.conv(block, cur, nxt)
            if net.batchnorms:
                scale, loc = net.batchnorms[i].scale_loc()
                sc, lc = self.src.const(self._id("scale"), scale), self.src.const(self._id("loc"), loc)
                self.loop(block.out_channels, f"{nxt}[j] = {nxt}[j] * {sc}[r] + {lc}[r];")
            self.act(net.activation, nxt, block.out_channels)
            cur = nxt
        self.conv(Conv(net.head_w[:, :, None], net.head_b), cur, "y")

    def _linear(self) -> None:
        net: Linear = self.net
        ch = min(net.in_channels, net.out_channels)
        w = np.zeros((ch, ch, net.taps.size), np.float32)
        w[np.arange(ch), np.arange(ch)] = net.taps[::-1]  # as a Conv, the last tap is the current sample
        bias = None if net.bias is None else np.full(ch, net.bias, np.float32)
        self.conv(Conv(w, bias), "x", "y")
        if net.out_channels > ch:
            self.loop(net.out_channels - ch, f"y[{ch} * CHUNK + j] = 0.0f;")

    # ---- text ----------------------------------------------------------------------------------

    def struct(self) -> str:
        nested = "".join(e.struct() for e in self.nested)
        fields = self.fields or ["char unused; /* no state */"]
        return nested + "typedef struct {\n    " + "\n    ".join(fields) + f"\n}} {self.cname}_state;\n\n"

    def functions(self) -> str:
        nested = "".join(e.functions() for e in self.nested)
        zero = "\n    ".join(self.zero) or "(void)s;"
        scratch = "".join(f"    float {k}[{v} * CHUNK];\n" for k, v in self.scratch.items())
        uses = "\n".join(self.body)
        decl = "    size_t r, t;\n" if re.search(r"\br\b", uses) or re.search(r"\bt\b", uses) else ""
        if re.search(r"\bnv\b", uses):  # whole tiles: lanes past n are computed and never used
            decl += "    const size_t nv = (n + TILE - 1) / TILE * TILE;\n"
        if not re.search(r"\bn\b", uses.replace("nv", "")):
            decl += "    (void)n;\n"
        body = "\n".join("    " + line for text in self.body for line in text.splitlines())
        unused = "" if "s->" in uses else "    (void)s;\n"
        return (nested +
                f"static void {self.cname}_zero({self.cname}_state *s)\n{{\n    {zero}\n}}\n\n"
                f"static void {self.cname}_chunk({self.cname}_state *s, const float *x, float *y, size_t n)\n{{\n"
                f"{scratch}{decl}{unused}{body}\n}}\n\n")

    def ram_bytes(self) -> int:
        """State bytes on a 32-bit MCU: floats plus ring positions (nested engines included)."""
        own = 4 * self.state_floats + POSITION_BYTES_M7 * self.positions
        return own + sum(e.ram_bytes() for e in self.nested)

    def stack_bytes(self) -> int:
        return 4 * CHUNK * sum(self.scratch.values()) + sum(e.stack_bytes() for e in self.nested)


# IR type -> Engine method that builds it (namx.backends)
ARCHITECTURES = {WaveNet: Engine._wavenet, LSTM: Engine._lstm, ConvNet: Engine._convnet, Linear: Engine._linear,
                 Container: ONE_WIDTH_AT_A_TIME}


# ---- activations: a C expression of `v` (the value), per name ---------------------------------

def _leaky(src: Source, a: Activation, v: str, slopes: str | None) -> str:
    slope = f"{slopes}[r]" if slopes else flt(a.param("negative_slope"))
    return f"({v} * ({v} > 0.0f ? 1.0f : {slope}))"  # an unconditional multiply vectorises


def _hardswish(v: str) -> str:
    c = f"({v} + 3.0f)"
    return f"({v} * ({c} < 0.0f ? 0.0f : ({c} > 6.0f ? 6.0f : {c})) * {flt(1.0 / 6.0)})"


def _leaky_hardtanh(a: Activation, v: str) -> str:
    lo, hi = flt(a.param("min_val")), flt(a.param("max_val"))
    return (f"({v} < {lo} ? ({v} - {lo}) * {flt(a.param('min_slope'))} + {lo} : "
            f"({v} > {hi} ? ({v} - {hi}) * {flt(a.param('max_slope'))} + {hi} : {v}))")


# activation name -> expr(src, a, v, slopes): slopes names PReLU's per-row constant array, if any
ACTIVATIONS = {
    "Tanh": lambda src, a, v, slopes: f"{src.helper('tanh32')}({v})",
    "Fasttanh": lambda src, a, v, slopes: f"{src.helper('fasttanh')}({v})",
    "Hardtanh": lambda src, a, v, slopes: f"({v} < -1.0f ? -1.0f : ({v} > 1.0f ? 1.0f : {v}))",
    "ReLU": lambda src, a, v, slopes: f"({v} > 0.0f ? {v} : 0.0f)",
    "LeakyReLU": _leaky,
    "PReLU": _leaky,
    "Sigmoid": lambda src, a, v, slopes: f"{src.helper('sigmoid')}({v})",
    "SiLU": lambda src, a, v, slopes: f"({v} * {src.helper('sigmoid')}({v}))",
    "Hardswish": lambda src, a, v, slopes: _hardswish(v),
    "LeakyHardtanh": lambda src, a, v, slopes: _leaky_hardtanh(a, v),
    "Softsign": lambda src, a, v, slopes: f"({v} / (1.0f + fabsf({v})))",
}


def _stateful_convs(net: WaveNet) -> list[Conv]:
    """The convolutions whose history the core keeps (the reference's state names)."""
    out = [layer.conv for a in net.arrays for layer in a.layers] + [a.head for a in net.arrays]
    return out + list(net.post_head.convs if net.post_head else ())


def generate(model: Model, cname: str, header_name: str, width_label: str, level: int) -> tuple[str, str, dict]:
    """(.h text, .c text, sizes) for a plain mono model; `cname` prefixes every public name."""
    if model.in_channels != 1 or model.out_channels != 1:
        raise NamxError(f"{model.source}: model has {model.in_channels} input and {model.out_channels} output "
                        "channels; the C engine streams mono (1 in, 1 out) models only")
    src = Source()
    eng = Engine(model, f"{cname}_e", src)
    mac = cname.upper()
    meta = "".join(f"#define {mac}_{k.upper()} {v!r}\n" for k, v in copied(model.metadata).items())
    rf = receptive_field(model)
    header = f"""/* Generated by namx (`namx convert --to c`) from {_comment(model.source)}, width {_comment(width_label)}.
 * C99, libm only, no heap. Spec: A2 {SPEC_VERSION}, section 14 (generated C binding). */
#ifndef {mac}_H
#define {mac}_H

#include <stddef.h>

#define {mac}_SAMPLE_RATE {float(model.sample_rate)!r}
#define {mac}_WIDTH "{_comment(width_label)}"
#define {mac}_LEVEL {level}
#define {mac}_ARCHITECTURE "{_comment(model.architecture)}"
#define {mac}_PREWARM_SAMPLES {prewarm_samples(model)}
#define {mac}_RECEPTIVE_FIELD {-1 if rf is None else rf} /* -1: unbounded (LSTM) */
#define {mac}_CHUNK {CHUNK} /* samples per internal step; any n works */
{meta}
{eng.struct()}typedef {eng.cname}_state {cname}_state;
#define {mac}_STATE_BYTES (sizeof({cname}_state))

/* The prewarmed initial state (the core's zero state after its prewarm zeros). */
void {cname}_init({cname}_state *s);
/* Back to the initial state. */
void {cname}_reset({cname}_state *s);
/* n >= 1 mono samples in, n out; in and out may be the same buffer. */
void {cname}_process({cname}_state *s, const float *in, float *out, size_t n);
size_t {cname}_state_bytes(void);

#endif
"""
    source = f"""/* Generated by namx (`namx convert --to c`); see {header_name}. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "{header_name}"

#define CHUNK {CHUNK}
#define TILE {TILE}
#if defined(__GNUC__) && !defined(__clang__)
/* Nothing here reads floating-point exception flags; without this, gcc keeps selects such as
 * LeakyReLU's out of vector code. Results are the same. */
#pragma GCC optimize("no-trapping-math")
#endif
/* Register tiles as GNU C vectors where the compiler has them (define NAMX_VECTORS 0 to opt out). */
#ifndef NAMX_VECTORS
#if defined(__GNUC__) || defined(__clang__)
#define NAMX_VECTORS 1
#else
#define NAMX_VECTORS 0
#endif
#endif
#if NAMX_VECTORS
typedef float vf __attribute__((vector_size(TILE * sizeof(float))));
#endif
#if defined(__GNUC__) || defined(__clang__)
#define INLINE static inline __attribute__((always_inline)) /* inlined, the loops around it vectorise */
#else
#define INLINE static inline
#endif

""" + "\n".join(src.consts) + "\n\n" + "\n\n".join(src.helpers.values()) + "\n\n" + eng.functions() + f"""void {cname}_init({cname}_state *s)
{{
    float x[CHUNK], y[CHUNK];
    unsigned long left = {prewarm_samples(model)}UL;
    memset(x, 0, sizeof x);
    {eng.cname}_zero(s);
    while (left > 0) {{
        const size_t m = left < CHUNK ? (size_t)left : CHUNK;
        {eng.cname}_chunk(s, x, y, m);
        left -= m;
    }}
}}

void {cname}_reset({cname}_state *s)
{{
    {cname}_init(s);
}}

void {cname}_process({cname}_state *s, const float *in, float *out, size_t n)
{{
    float x[CHUNK], y[CHUNK];
    memset(x, 0, sizeof x); /* lanes past a short block's end are computed too (never used) */
    while (n > 0) {{
        const size_t m = n < CHUNK ? n : CHUNK;
        memcpy(x, in, m * sizeof(float));
        {eng.cname}_chunk(s, x, y, m);
        memcpy(out, y, m * sizeof(float));
        in += m;
        out += m;
        n -= m;
    }}
}}

size_t {cname}_state_bytes(void)
{{
    return sizeof({cname}_state);
}}
"""
    sizes = {"weights_bytes": src.weight_bytes, "ram_bytes": eng.ram_bytes(), "stack_bytes": eng.stack_bytes() + 8 * CHUNK}
    return header, source, sizes


def _comment(text) -> str:
    """Text safe inside a C comment or string literal."""
    return re.sub(r'[^A-Za-z0-9 _.,:/+=()\[\]-]', "_", str(text))
