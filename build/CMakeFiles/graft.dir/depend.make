# Empty dependencies file for graft.
# This may be replaced when dependencies are built.
