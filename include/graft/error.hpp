// graft/error.hpp — the exception hierarchy.
//
// Every error graft raises derives from graft::Error and its message names the op,
// the shapes and the values involved, e.g.
//   "linear: input has 783 features, layer expects 784".
// Kernels never throw; nothing in the library calls exit or abort.
#pragma once

#include <stdexcept>
#include <string>

namespace graft {

/// Base class of every exception graft throws.
class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message), message_(message) {}
    const char* what() const noexcept override { return message_.c_str(); }
    /// Prefixes the message with where the error happened ("sample 12: …"). Rethrow with `throw;`.
    void add_context(const std::string& where) { message_ = where + ": " + message_; }
    /// Puts the module path in front of the message as the error leaves a child's forward: the
    /// innermost call adds "conv1 (Conv2d): ", each enclosing one its own name before it, so that
    /// the message reads "layer2.0.conv1 (Conv2d): conv2d: …" like the parameter names. Called by
    /// nn::Child, Sequential and the other forward-call wrappers; rethrow with `throw;`.
    void add_module_path(const std::string& name, const std::string& type) {
        if (!module_path_.empty() && message_.compare(0, module_path_.size() + 2, module_path_ + " (") == 0) {
            module_path_ = name + "." + module_path_;
            message_ = name + "." + message_;
        } else {  // the innermost module, or context was added since the last path part
            module_path_ = name;
            message_ = name + " (" + type + "): " + message_;
        }
    }
    /// The path added by add_module_path ("layer2.0.conv1"); empty when the error did not pass
    /// through a forward-call wrapper.
    const std::string& module_path() const { return module_path_; }

private:
    std::string message_;
    std::string module_path_;
};

/// Shapes that do not fit together (broadcasting, matmul, reshape, …).
class ShapeError : public Error {
public:
    using Error::Error;
};

/// A dtype an op does not accept, or two operands of different dtypes.
class DTypeError : public Error {
public:
    using Error::Error;
};

/// An index or dimension outside its valid range.
class IndexError : public Error {
public:
    using Error::Error;
};

/// A value outside its valid domain (a negative size, an unknown option, …).
class ValueError : public Error {
public:
    using Error::Error;
};

/// Misuse of the autograd engine (backward through a freed graph, a modified saved tensor, …).
class AutogradError : public Error {
public:
    using Error::Error;
};

/// Reading or writing files.
class IOError : public Error {
public:
    using Error::Error;
};

/// An allocation that cannot be satisfied: a byte count that overflows, more than the machine's
/// memory and swap, or a request the system allocator refuses. Raised instead of std::bad_alloc.
class MemoryError : public Error {
public:
    using Error::Error;
};

}  // namespace graft
