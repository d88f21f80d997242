"""`bindery simulate`: a dunning campaign over a simulated customer base, on a virtual clock."""
