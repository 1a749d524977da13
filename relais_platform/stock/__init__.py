"""Catalogue, national stock, relais inventory, orders, allocation, payment, shipment."""
