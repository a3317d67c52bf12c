"""TAXII 2.1: the reports a member may see, served as STIX 2.1 collections under ``/taxii2/``."""
