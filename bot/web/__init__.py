"""The aiohttp side server: Prometheus metrics, health and the JSON API."""
