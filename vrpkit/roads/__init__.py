"""Road-network matrix providers: OSRM (server or local extract) and an OSM street graph."""
