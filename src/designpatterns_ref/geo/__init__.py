"""Ride sharing: geohash, live driver indexes, exact nearest-driver matching, surge and trips.

Case study: Design a Ride-Sharing App (Uber / Lyft) (docs/case-studies/ride-sharing.md)
"""
