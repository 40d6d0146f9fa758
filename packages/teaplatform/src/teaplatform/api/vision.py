"""Vision API: shoot detection with picking points and pick plans, leaf grading, made-tea
grade rules, and the model registry (the active version of each kind serves)."""

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, File, HTTPException, Query, Response, UploadFile, status
from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict, Field

from teaplatform.api.deps import SessionDep, Writer
from teaplatform.grading.rules import grade_sample, load_rules
from teaplatform.picking.draw import draw_picking
from teaplatform.picking.pipeline import plan_for, shoots_of
from teaplatform.picking.plan import ArmConfig
from teaplatform.vision import registry, serving
from teaplatform.vision.config import Kind

router = APIRouter(tags=["vision"])

MAX_IMAGE_BYTES = 32 << 20
MAX_FILES = 64


class ModelPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    version: str
    path: str
    onnx_sha256: str
    metrics: dict[str, Any]
    active: bool
    created_at: datetime


class ModelCreate(BaseModel):
    path: str = Field(description="a model directory (model.onnx + card.json) on the server")
    version: str | None = Field(default=None, max_length=64)
    activate: bool = False


class MadeTeaSample(BaseModel):
    tea: str = Field(examples=["green"])
    indicators: dict[str, float] = Field(examples=[{"moisture": 6.2, "powder": 0.7}])


async def _read_image(upload: UploadFile) -> np.ndarray[Any, np.dtype[np.uint8]]:
    data = await upload.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"{upload.filename}: too large")
    try:
        with Image.open(io.BytesIO(data)) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
    except (UnidentifiedImageError, OSError) as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"{upload.filename}: not an image ({exc})"
        ) from None


def _check_count(files: list[UploadFile]) -> None:
    if not files or len(files) > MAX_FILES:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"send 1 to {MAX_FILES} image files"
        )


Threshold = Annotated[float | None, Query(ge=0.0, le=1.0, description="score threshold")]


@router.post("/vision/detect")
async def detect(
    session: SessionDep,
    files: Annotated[list[UploadFile], File(description="canopy images")],
    threshold: Threshold = None,
    plan: bool = True,
) -> list[dict[str, Any]]:
    """Tea shoots per image: class, score, box and picking point (input pixels), pick plan."""
    _check_count(files)
    model = serving.detector(registry.serving_dir(session, "detector"))
    arm = ArmConfig()
    out = []
    for upload in files:
        image = await _read_image(upload)
        dets = model.detect([image], score_threshold=threshold)[0]
        shoots = shoots_of(image, dets, model.classes)
        item: dict[str, Any] = {
            "image": upload.filename,
            "detections": [s.to_json() for s in shoots],
        }
        if plan:
            item["plan"] = plan_for(image, shoots, arm).to_json()
        out.append(item)
    return out


@router.post(
    "/vision/detect/draw",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
async def detect_draw(
    session: SessionDep,
    file: Annotated[UploadFile, File(description="a canopy image")],
    threshold: Threshold = None,
) -> Response:
    """The image with boxes, picking points and the pick plan drawn on it (PNG)."""
    model = serving.detector(registry.serving_dir(session, "detector"))
    image = await _read_image(file)
    shoots = shoots_of(image, model.detect([image], score_threshold=threshold)[0], model.classes)
    drawn = draw_picking(Image.fromarray(image), shoots, plan_for(image, shoots, ArmConfig()))
    buf = io.BytesIO()
    drawn.save(buf, format="PNG")
    return Response(buf.getvalue(), media_type="image/png")


@router.post("/vision/grade")
async def grade(
    session: SessionDep,
    files: Annotated[list[UploadFile], File(description="leaf images")],
) -> list[dict[str, Any]]:
    """Leaf condition per image: the most likely class and its probability."""
    _check_count(files)
    model = serving.classifier(registry.serving_dir(session, "classifier"))
    images = [await _read_image(f) for f in files]
    probs = model.probabilities(images)
    return [
        {
            "image": f.filename,
            "class": model.classes[int(p.argmax())],
            "score": round(float(p.max()), 4),
        }
        for f, p in zip(files, probs, strict=True)
    ]


@router.get("/grading/rules")
def made_tea_rules() -> dict[str, Any]:
    """The made-tea grade rules in force (per tea type, grades best first, with limits)."""
    return load_rules().model_dump()


@router.post("/grading/made-tea")
def made_tea(sample: MadeTeaSample) -> dict[str, object]:
    """The grade of a made-tea sample from its measured indicators, with the reasons."""
    try:
        return grade_sample(load_rules(), sample.tea, sample.indicators).to_json()
    except KeyError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc.args[0])) from None


@router.get("/vision/models", response_model=list[ModelPublic])
def list_models(session: SessionDep, kind: Kind | None = None) -> list[Any]:
    """Registered model versions with their metrics; `active` marks the ones that serve."""
    return list(registry.versions(session, kind))


@router.post(
    "/vision/models",
    response_model=ModelPublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Writer],
)
def register_model(session: SessionDep, body: ModelCreate) -> Any:
    """Register a trained model directory (optionally making it the active version)."""
    try:
        return registry.register(
            session, Path(body.path), datetime.now(UTC), body.version, body.activate
        )
    except registry.RegistryError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None


@router.post(
    "/vision/models/{version_id}/activate", response_model=ModelPublic, dependencies=[Writer]
)
def activate_model(session: SessionDep, version_id: int) -> Any:
    """Make a version the one that serves its kind."""
    try:
        return registry.set_active(session, version_id)
    except registry.RegistryError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
