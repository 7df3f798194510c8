"""The Providers page: each gateway's health from the studio's own records, and the owners' order of
gateways for routed models."""
