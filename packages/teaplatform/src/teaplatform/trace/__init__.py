"""Origin traceability: EPCIS 2.0 events, signatures, hash chains, QR codes, verification."""
