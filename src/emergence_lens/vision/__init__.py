"""Vision: datasets for the paper's induced-emergence experiments (Figs. 7-9)."""
