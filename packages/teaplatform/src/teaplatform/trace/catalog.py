"""The five teas as trade items: a fresh-leaf product and a made-tea package per tea type.

SYNTHETIC identifiers: the company prefix 0614141 is the example prefix of the GS1 standards,
so no real company's codes are used. A deployment sets its own prefix in the helpers' calls.
"""

from dataclasses import dataclass

from teaplatform.trace.ids import Product

DEMO_PREFIX = "0614141"


@dataclass(frozen=True, slots=True)
class Tea:
    code: str  # green, black, dark, white, yellow (as the garden and processing modules use)
    name: str
    name_zh: str
    leaf: Product  # fresh leaf, by the kilogram
    made: Product  # the consumer package


TEAS: dict[str, Tea] = {
    tea.code: tea
    for tea in (
        Tea(
            "green",
            "Xiaoxiang green tea",
            "潇湘绿茶",
            Product(DEMO_PREFIX, "010001"),
            Product(DEMO_PREFIX, "020001"),
        ),
        Tea(
            "black",
            "Hunan black tea",
            "湖南红茶",
            Product(DEMO_PREFIX, "010002"),
            Product(DEMO_PREFIX, "020002"),
        ),
        Tea(
            "dark",
            "Anhua dark tea",
            "安化黑茶",
            Product(DEMO_PREFIX, "010003"),
            Product(DEMO_PREFIX, "020003"),
        ),
        Tea(
            "white",
            "Sangzhi white tea",
            "桑植白茶",
            Product(DEMO_PREFIX, "010004"),
            Product(DEMO_PREFIX, "020004"),
        ),
        Tea(
            "yellow",
            "Yueyang yellow tea",
            "岳阳黄茶",
            Product(DEMO_PREFIX, "010005"),
            Product(DEMO_PREFIX, "020005"),
        ),
    )
}


def tea(code: str) -> Tea:
    try:
        return TEAS[code]
    except KeyError:
        raise ValueError(f"unknown tea type {code!r}: one of {', '.join(TEAS)}") from None
