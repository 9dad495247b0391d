file(REMOVE_RECURSE
  "libgraft.a"
)
