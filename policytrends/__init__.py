"""policytrends: trends of security-policy themes in think-tank commentary."""

__version__ = "0.1.0"
