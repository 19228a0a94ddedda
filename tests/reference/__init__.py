"""Reference implementations (plain numpy, written for clarity, not speed) of the compiled kernels of fem_wlp.

Each is used by a test that checks the production kernel against it:
- kinematics.dense_b: the dense strain-displacement operator B          -> tests/test_kinematics.py (B u, B^T s)
- assembly.scatter_stiffness, block_pattern, csr_positions, csr_structure -> tests/test_assembly.py
- anand.anand_update: the vectorised bracketed Anand return map         -> tests/test_materials_inelastic.py
The elastic stiffness itself is checked against scikit-fem's forms (tests/test_assembly.py).
Importable from the tests as `from reference.<module> import ...` (pytest puts tests/ on sys.path).
"""
