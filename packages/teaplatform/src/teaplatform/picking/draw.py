"""Drawing detections, picking points and the pick plan on an image (PIL)."""

from collections.abc import Sequence

from PIL import Image, ImageDraw

from teaplatform.picking.pipeline import Shoot
from teaplatform.picking.plan import PickPlan

CLASS_COLOURS = ("#ff3b30", "#ffcc00", "#34c7ff", "#ff2dd4", "#7cff4f", "#ff8a00")
PATH_COLOUR = "#ffffff"
UNREACHABLE = "#8e8e93"


def draw_picking(image: Image.Image, shoots: Sequence[Shoot], plan: PickPlan | None) -> Image.Image:
    """A copy of `image` with boxes (colour = class), picking points (+) and the tour."""
    out = image.convert("RGB").copy()
    draw = ImageDraw.Draw(out)
    r = max(3, round(max(out.size) / 200))
    if plan is not None:
        bx, by = plan.base
        w, h = out.size
        draw.line(
            [plan.home, *[plan.points[i] for i in plan.order], plan.home],
            fill=PATH_COLOUR,
            width=max(1, r // 2),
        )
        draw.ellipse(
            [plan.home[0] - r, plan.home[1] - r, plan.home[0] + r, plan.home[1] + r],
            outline=PATH_COLOUR,
            width=2,
        )
        if 0 <= bx <= w and 0 <= by <= h:
            draw.rectangle([bx - r, by - r, bx + r, by + r], outline=PATH_COLOUR, width=2)
    for i, shoot in enumerate(shoots):
        colour = CLASS_COLOURS[shoot.label % len(CLASS_COLOURS)]
        ok = plan is None or plan.reachable[i]
        draw.rectangle(shoot.box, outline=colour if ok else UNREACHABLE, width=2)
        x, y = shoot.pick_point
        mark = "#00ff66" if ok else UNREACHABLE
        draw.line([x - r, y, x + r, y], fill=mark, width=2)
        draw.line([x, y - r, x, y + r], fill=mark, width=2)
    if plan is not None:
        for step, i in enumerate(plan.order, 1):
            x, y = plan.points[i]
            draw.text((x + r, y - 3 * r), str(step), fill=PATH_COLOUR)
    return out
