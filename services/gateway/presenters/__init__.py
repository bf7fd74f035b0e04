"""Presenters: read-model rows as the API's payloads (CONTRACT §4): one field list per answer, figures rounded
(`services.gateway.rounding`). The JSON API renders these payloads; the pages format the same payloads for
people (`presenters.display`), so a page shows exactly the API's numbers."""
