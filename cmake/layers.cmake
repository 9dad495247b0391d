# graft's layers, bottom to top, and the layers each one may use (the closure of these is
# what it may include and link). Read by CMakeLists.txt (one OBJECT library per layer, the link
# check) and cmake/check_layering.cmake (the include check).
#   kernels   SIMD/OpenMP kernels, CPU detection, the parallel-for; no graft types
#   core      Storage, Tensor, dtypes, factories, random, errors, raw element copies
#   autograd  the engine, Node, saved tensors, grad mode
#   ops       differentiable ops, the Tensor members that are ops, nn::functional
#   testing   gradcheck
#   nn        modules, layers, containers, LoRA
#   optim     optimizers, schedulers, clipping
#   io        safetensors, checkpoints, LoRA adapter files, text files
#   tokenizers Hugging Face tokenizer.json (BPE, WordPiece, Unigram), training, batch encoding to int64 tensors
#   data      datasets, transforms, the DataLoader
#   models    model families
#   train     Trainer, metrics, callbacks, unfreezing, feature cache, forgetting guards, sweeps
#   dist      MPI data parallelism: the environment, collectives, DistributedDataParallel, the
#             Trainer's distributed options (built only with GRAFT_WITH_MPI: GRAFT_OPTIONAL_LAYERS)
set(GRAFT_LAYERS kernels core autograd ops testing nn optim io tokenizers data models train dist)
set(GRAFT_OPTIONAL_LAYERS dist)
set(GRAFT_LAYER_DEPS_kernels "")
set(GRAFT_LAYER_DEPS_core kernels)
set(GRAFT_LAYER_DEPS_autograd core)
set(GRAFT_LAYER_DEPS_ops autograd)
set(GRAFT_LAYER_DEPS_testing ops)
set(GRAFT_LAYER_DEPS_nn ops)
set(GRAFT_LAYER_DEPS_optim ops)
set(GRAFT_LAYER_DEPS_io nn optim)
set(GRAFT_LAYER_DEPS_tokenizers io)
set(GRAFT_LAYER_DEPS_data io tokenizers)
set(GRAFT_LAYER_DEPS_models nn io)
set(GRAFT_LAYER_DEPS_train data models io testing)
set(GRAFT_LAYER_DEPS_dist train)
set(GRAFT_LAYER_DIR_kernels kernels)
foreach(layer IN LISTS GRAFT_LAYERS)
  if(NOT layer STREQUAL "kernels")
    set(GRAFT_LAYER_DIR_${layer} src/${layer})
  endif()
endforeach()

# The transitive closure of a layer's dependencies, itself first.
function(graft_layer_closure layer out)
  set(result ${layer})
  set(queue ${GRAFT_LAYER_DEPS_${layer}})
  while(queue)
    list(POP_FRONT queue next)
    if(NOT next IN_LIST result)
      list(APPEND result ${next})
      list(APPEND queue ${GRAFT_LAYER_DEPS_${next}})
    endif()
  endwhile()
  set(${out} ${result} PARENT_SCOPE)
endfunction()
