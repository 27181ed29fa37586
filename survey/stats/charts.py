"""Charts as inline SVG, drawn on the server: no script, no CDN, and they print.

Hand-written: two chart shapes (bars of a distribution, lines of a monthly rate) are a few
dozen lines of SVG; a charting library would bring a JavaScript runtime to the bureau's
printers for no gain.
"""

from html import escape

from markupsafe import Markup

from survey.stats.metrics import Rate

_FONT = 'font-family="sans-serif" font-size="12"'
COLOURS = {"combined": "#04612f", "qr": "#0b4f9c", "phone": "#b35900", "visit": "#6a1b9a"}


def bars(counts: dict[int, int], labels: dict[int, str], width: int = 420) -> Markup:
    """Horizontal bars, one per level, with its count."""
    top = max(counts.values(), default=0) or 1
    row, label_w = 26, 90
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
        f'height="{row * len(counts) + 8}" aria-label="回答分布">'
    ]
    for i, (level, n) in enumerate(counts.items()):
        y = 4 + i * row
        length = (width - label_w - 60) * n / top
        colour = "#b00020" if level <= 2 else "#04612f"
        parts.append(
            f'<text x="0" y="{y + 16}" {_FONT}>{escape(labels[level])}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{length:.1f}" height="16" fill="{colour}"/>'
            f'<text x="{label_w + length + 6:.1f}" y="{y + 16}" {_FONT}>{n}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def trend(months: list[tuple[str, dict[str, Rate], Rate]], width: int = 640) -> Markup:
    """Monthly satisfaction rates (combined and per channel) as lines on a 0–100 % axis;
    months with too few answers leave a gap."""
    height, left, bottom, top = 220, 44, 36, 12
    inner_w, inner_h = width - left - 12, height - top - bottom
    step = inner_w / max(len(months) - 1, 1)

    def y(value: float) -> float:
        return top + inner_h * (1 - value)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        'aria-label="满意率月度趋势">'
    ]
    for tick in (0, 0.5, 0.8, 0.9, 1.0):
        parts.append(
            f'<line x1="{left}" x2="{width - 12}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            f'stroke="#ddd"/><text x="0" y="{y(tick) + 4:.1f}" {_FONT}>{tick:.0%}</text>'
        )
    for i, (month, _, _) in enumerate(months):
        parts.append(
            f'<text x="{left + i * step:.1f}" y="{height - 12}" text-anchor="middle" '
            f"{_FONT}>{escape(month[2:])}</text>"
        )
    series = {"combined": [m[2] for m in months]}
    series |= {ch: [m[1][ch] for m in months] for ch in ("qr", "phone", "visit")}
    for name, rates in series.items():
        points = [(left + i * step, y(r.value)) for i, r in enumerate(rates) if r.value is not None]
        if not points:
            continue
        path = " ".join(f"{x:.1f},{yy:.1f}" for x, yy in points)
        stroke = 3 if name == "combined" else 1.5
        parts.append(
            f'<polyline fill="none" stroke="{COLOURS[name]}" stroke-width="{stroke}" '
            f'points="{path}"/>'
        )
        parts.extend(
            f'<circle cx="{x:.1f}" cy="{yy:.1f}" r="3" fill="{COLOURS[name]}"/>' for x, yy in points
        )
    parts.append("</svg>")
    return Markup("".join(parts))
