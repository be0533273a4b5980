"""FHIR R4 helpers: code tables, lenient readers, resource-to-row mapping and Bundle writers."""
