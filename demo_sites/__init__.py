"""The bundled demo corpus: four fictional think-tank websites served on loopback."""

from demo_sites.server import DemoSites

__all__ = ["DemoSites"]
