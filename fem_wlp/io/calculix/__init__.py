"""Export of fem_wlp models to other codes (CalculiX / Abaqus-style decks) and readers of their results.

- `calculix.write_deck(model, times, path)`: a CalculiX 2.20 (`ccx`) input deck of any fem_wlp model.
- `ccx_results.read_dat(path)` / `ccx_results.map_to_model(...)`: the `.dat` tables back on fem_wlp's mesh.
"""
from fem_wlp.io.calculix.deck import CCXMaps, deck_maps, write_deck  # noqa: F401
