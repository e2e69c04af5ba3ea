"""Delivery: signed rendition URLs and the renderer behind them (issue 17)."""
