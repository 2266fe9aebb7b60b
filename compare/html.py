"""One self-contained HTML page per report: ``--html FILE`` of compare.gradients and compare.candidate.

No network access: the CSS is in the page, the one plot is a PNG in a data: URL, and there is
no script.  The page shows the network with its shapes, the verdict, and, layer by layer, each
quantity's equation beside both sides' values (small matrices in full, larger ones summarised:
shape, norm, range and their first rows), its error and tolerance, with the first divergence
highlighted and its hint.
"""
from __future__ import annotations

import base64
import html
import io

import numpy as np

#: Matrices with at most this many entries are shown in full; larger ones are summarised.
FULL = 36
#: Rows of a summarised matrix that are shown.
HEAD_ROWS = 3

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: .2em; } h2 { font-size: 1.2em; margin-top: 2em; }
.verdict { display: inline-block; padding: .3em .8em; border-radius: .3em; font-weight: bold; font-size: 1.2em; }
.ok { background: #dff3df; color: #135e13; } .fail { background: #fbe0e0; color: #8a1414; }
table { border-collapse: collapse; margin: .5em 0; } td, th { padding: .2em .6em; border-bottom: 1px solid #ddd;
  text-align: left; vertical-align: top; } th { background: #f4f4f4; }
tr.first td { background: #fff1c2; font-weight: bold; } tr.bad td { color: #8a1414; }
.network { display: flex; gap: .5em; flex-wrap: wrap; align-items: center; margin: 1em 0; }
.layer { border: 1px solid #888; border-radius: .4em; padding: .4em .7em; background: #fafafa; }
.arrow { color: #888; } .eq { font-family: ui-monospace, monospace; color: #333; white-space: nowrap; }
.hint { border-left: 4px solid #e0a800; background: #fff8e0; padding: .6em 1em; margin: 1em 0; }
.m { font-family: ui-monospace, monospace; font-size: 12px; border-collapse: collapse; }
.m td { border: none; padding: 0 .4em; text-align: right; } .v { max-width: 20em; overflow-x: auto; } .dim { color: #777; font-size: 12px; }
details { margin: .3em 0; } summary { cursor: pointer; }
"""


def esc(text) -> str:
    return html.escape(str(text))


def matrix(a) -> str:
    """A value: in full when small, else its shape, norm, range and first rows."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 0:
        return f'<span class="m">{a:.6g}</span>'
    shape = " x ".join(map(str, a.shape))
    flattened = a.ndim > 2
    if flattened:  # shown as its rows of the last axis
        a = a.reshape(-1, a.shape[-1])
    column = a.ndim == 2 and a.shape[1] == 1 and a.shape[0] > 1  # a column, shown as a row
    rows = a.T if column else a if a.ndim == 2 else a[None, :]
    full = a.size <= FULL
    shown = rows if full else rows[:HEAD_ROWS]
    cells = [row if full or len(row) <= 8 else row[:8] for row in shown]
    body = "".join("<tr>" + "".join(f"<td>{v:.4g}</td>" for v in row) + "</tr>" for row in cells)
    note = (f"{shape}, shown as a row" if column else f"{shape}, as rows" if flattened else "") if full else (
        f"{shape}{', as a row' if column else ''}, norm {np.linalg.norm(a):.4g}, "
        f"range [{np.nanmin(a):.4g}, {np.nanmax(a):.4g}]; "
        f"the first {'entries' if column else f'{HEAD_ROWS} rows' + (', 8 columns' if rows.shape[1] > 8 else '')}")
    return f'<div class="v"><table class="m">{body}</table>' + (f'<div class="dim">{note}</div>' if note else "") + "</div>"


def network(widths, activations) -> str:
    """The network as boxes: the input, then each Dense layer with W's and b's shapes."""
    parts = [f'<div class="layer">input<br><b>{widths[0]}</b></div>']
    for l, (n_in, n_out, g) in enumerate(zip(widths, widths[1:], activations), 1):
        parts.append('<span class="arrow">&rarr;</span>')
        parts.append(f'<div class="layer">layer {l}: Dense <b>{n_out}</b>, {esc(g)}<br>'
                     f'<span class="dim">W{l} {n_in}&times;{n_out}, b{l} {n_out}</span></div>')
    return '<div class="network">' + "".join(parts) + "</div>"


def stack(net) -> str:
    """A scratch network (a twin) as boxes: the input, then each layer's summary and its parameters' shapes."""
    parts = [f'<div class="layer">input<br><b>{net.widths[0]}</b></div>']
    for l, layer in enumerate(net.layers, 1):
        shapes = ", ".join("&times;".join(map(str, p.shape)) for p in layer.params)
        parts.append('<span class="arrow">&rarr;</span>')
        parts.append(f'<div class="layer">layer {l}: {esc(layer.summary())}<br>'
                     f'<span class="dim">{shapes or "no parameters"}</span></div>')
    return '<div class="network">' + "".join(parts) + "</div>"


def verdict(passed: bool, text: str) -> str:
    return f'<div class="verdict {"ok" if passed else "fail"}" id="verdict">{esc(text)}</div>'


def hint(first: dict | None) -> str:
    if first is None:
        return '<p>Every quantity agrees, layer by layer.</p>'
    where = f"layer {first['layer']}, " if first.get("layer") else ""
    function = f" in <code>{esc(first['function'])}</code>" if first.get("function") else ""
    return (f'<div class="hint"><b>First divergence: {esc(where)}{esc(first["quantity"])} '
            f'({esc(first["pass"])}){function}</b><br><span class="eq">{esc(first["equation"])}</span><br>'
            f'{esc(first["kind"])}: {esc(first["hint"])}</div>')


def layer_table(rows: list[dict], first: dict | None, values: dict | None = None,
                sides=("keras", "twin")) -> str:
    """Every quantity in data-flow order: equation, both sides' values (when given), error, verdict."""
    per_row = values is None and bool(rows) and "_reference" in rows[0]  # each check carries its own values
    head = ["layer", "pass", "quantity", "function" if rows and "function" in rows[0] else None, "equation",
            *((f"{s}" for s in sides) if values or per_row else ()), "rel diff", "tolerance", "verdict"]
    head = [h for h in head if h]
    out = ['<div style="overflow-x: auto"><table><tr>' + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr>"]
    for r in rows:
        is_first = first is not None and r["quantity"] == first["quantity"] and (
            r.get("function") == first.get("function"))
        cls = "first" if is_first else "" if r["passed"] else "bad"
        cells = [r["layer"] or "-", r["pass"], r["quantity"]] + ([r.get("function")] if "function" in head else [])
        cells = [esc(c) for c in cells] + [f'<span class="eq">{esc(r["equation"])}</span>']
        if values:
            cells += [matrix(values[s][r["quantity"]]) if r["quantity"] in values[s] else "-" for s in sides]
        elif per_row:
            cells += [matrix(r["_reference"]),
                      matrix(r["_candidate"]) if r.get("_candidate") is not None else esc(r.get("hint", "-"))]
        cells += [f"{r['rel_diff']:.1e}" if "rel_diff" in r else "-",
                  f"{r['tolerance']:.1e}" if "tolerance" in r else "-",
                  esc(("FIRST DIVERGENCE: " if is_first else "") + ("ok" if r["passed"] else r.get("kind", "differs")))]
        out.append(f'<tr class="{cls}">' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return "".join(out) + "</table></div>"


def error_plot(rows: list[dict]) -> str:
    """Each quantity's relative difference over its tolerance (log scale), as an inline PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    shown = [r for r in rows if "rel_diff" in r and "tolerance" in r]
    if not shown:
        return ""
    ratio = [r["rel_diff"] / r["tolerance"] for r in shown]
    finite = [v for v in ratio if np.isfinite(v)]
    # a quantity that could not be judged (another shape, NaN or inf: an infinite error) stands at the top
    ceiling = max([1e3] + [10 * v for v in finite])
    unjudged = [not np.isfinite(v) for v in ratio]
    ratio = [ceiling if bad else max(v, 1e-6) for v, bad in zip(ratio, unjudged)]
    fig, ax = plt.subplots(figsize=(max(4, 0.35 * len(shown)), 2.6), dpi=100)
    ax.bar(range(len(shown)), ratio, color=["#c0392b" if v > 1 else "#27ae60" for v in ratio],
           hatch=["//" if bad else "" for bad in unjudged])
    ax.axhline(1, color="#555", linewidth=1, linestyle="--")
    ax.set_yscale("log")
    ax.set_xticks(range(len(shown)), [f"{r['quantity']}" + (" (inf)" if bad else "")
                                      + (f"\n{r['function']}" if r.get("function") else "")
                                      for r, bad in zip(shown, unjudged)], rotation=90, fontsize=7)
    ax.set_ylabel("rel diff / tolerance", fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode()
    return (f'<img alt="each quantity\'s relative difference over its tolerance; above the dashed line it '
            f'differs" src="data:image/png;base64,{data}">')


def page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
            f"<style>{CSS}</style></head><body><h1>{esc(title)}</h1>{body}</body></html>\n")


def write(path: str, title: str, body: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(page(title, body))
