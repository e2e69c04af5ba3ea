"""The domain: the image record, its states, keys and formats, and the errors
use-cases raise. Knows neither Chalice, HTTP nor AWS."""
