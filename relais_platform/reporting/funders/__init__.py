"""Funders, their agreements (conventions) with targets, and earmarked stock."""
