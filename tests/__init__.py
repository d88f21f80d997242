"""Bindery tests: unit (pure logic), integration (real daprd, Azurite, SMTP), reliability."""
