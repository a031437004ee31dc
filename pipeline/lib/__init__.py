"""Helpers the stages share; no stage imports another stage."""
