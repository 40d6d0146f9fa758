"""teaplatform — the Five-colour Hunan tea (五彩湘茶) AI platform."""

__version__ = "0.1.0"
