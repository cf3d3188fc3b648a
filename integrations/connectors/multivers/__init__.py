"""Unit4 Multivers Online (also sold as Exact Multivers / Boekhoud Gemak)."""
