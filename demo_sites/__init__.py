"""The bundled demo corpus: four fictional think-tank websites served on loopback."""

from policytrends.demo_sites.server import DemoSites

__all__ = ["DemoSites"]
