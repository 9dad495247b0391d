// The safetensors header parser and validator.
//
// The JSON is tokenised by nlohmann-json's SAX parser; the handler below checks the schema as
// the events arrive (so duplicate names are seen, and memory stays proportional to the number
// of tensors whatever the header holds), then validate() checks dtypes, shapes and the data
// layout the way upstream safetensors does. Nothing is handed out before all of it passed.
#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>
#include <unordered_set>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/safetensors_format.hpp"

namespace graft::io::detail {

namespace {

using json = nlohmann::json;

// BOOL is not used as is: a file may hold any byte there, while a graft bool must be 0 or 1.
constexpr FileDType kFileDTypes[] = {
    {"F32", 4, DType::Float32, true},  {"F64", 8, DType::Float64, true}, {"BF16", 2, DType::Float32, false},
    {"F16", 2, DType::Float32, false}, {"I64", 8, DType::Int64, true},   {"I32", 4, DType::Int32, true},
    {"U8", 1, DType::Int32, false},    {"BOOL", 1, DType::Bool, false},
};

/// What the handler expects next.
enum class State {
    Start,       // the top-level object
    TopKey,      // a tensor name, "__metadata__", or the end of the header
    TopValue,    // the value under the name just read
    MetaKey,     // a metadata key or the end of __metadata__
    MetaValue,   // a metadata value (a string)
    EntryKey,    // a field of a tensor entry, or its end
    EntryValue,  // the value of that field
    ShapeItem,   // a dimension or the end of "shape"
    OffsetItem,  // an offset or the end of "data_offsets"
    Skip,        // inside the value of a field this reader ignores
    Done,
};

/// A tensor entry as the handler collects it; validate() checks the rest.
struct RawEntry {
    std::string name;
    std::optional<std::string> dtype;
    std::optional<Shape> shape;
    std::optional<std::vector<std::uint64_t>> offsets;
};

/// Builds the raw entries and the metadata from the SAX events; throws IOError on anything the
/// schema does not allow. Unknown fields inside an entry are skipped, as upstream does.
class HeaderHandler final : public nlohmann::json_sax<json> {
public:
    explicit HeaderHandler(const std::string& source) : source_(source) {}

    std::vector<RawEntry> entries;
    Metadata metadata;

    bool null() override { return on_value(Kind::Null); }
    bool boolean(bool) override { return on_value(Kind::Boolean); }
    bool number_integer(number_integer_t value) override {
        // nlohmann reports non-negative integers as unsigned; only "-0" reaches here as zero.
        if (value == 0) return number_unsigned(0);
        return integer_problem("the negative number " + std::to_string(value));
    }
    bool number_unsigned(number_unsigned_t value) override {
        if (state_ == State::ShapeItem) {
            if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
                fail(in_entry() + "shape dimension " + std::to_string(value) + " overflows int64");
            current().shape->push_back(static_cast<std::int64_t>(value));
            return true;
        }
        if (state_ == State::OffsetItem) {
            if (current().offsets->size() == 2) fail(in_entry() + "data_offsets has more than 2 numbers");
            current().offsets->push_back(value);
            return true;
        }
        return on_value(Kind::Number);
    }
    bool number_float(number_float_t, const string_t& text) override {
        return integer_problem("the non-integer (or out-of-range) number " + std::string(text));
    }
    bool string(string_t& value) override {
        if (state_ == State::MetaValue) {
            metadata.emplace(std::move(meta_key_), std::move(value));
            state_ = State::MetaKey;
            return true;
        }
        if (state_ == State::EntryValue && field_ == Field::DType) {
            current().dtype = std::move(value);
            state_ = State::EntryKey;
            return true;
        }
        return on_value(Kind::String);
    }
    bool binary(binary_t&) override { return on_value(Kind::Binary); }

    bool start_object(std::size_t) override {
        switch (state_) {
            case State::Start: state_ = State::TopKey; return true;
            case State::TopValue:
                if (top_key_is_metadata_) {
                    state_ = State::MetaKey;
                } else {
                    fields_seen_ = 0;
                    state_ = State::EntryKey;
                }
                return true;
            default: return on_value(Kind::Object);
        }
    }
    bool key(string_t& name) override {
        switch (state_) {
            case State::TopKey:
                if (!names_.insert(name).second) fail("duplicate name " + quote(name) + " in the header");
                top_key_is_metadata_ = name == "__metadata__";
                if (!top_key_is_metadata_) entries.push_back(RawEntry{std::move(name), {}, {}, {}});
                state_ = State::TopValue;
                return true;
            case State::MetaKey:
                if (metadata.count(name)) fail("__metadata__: duplicate key " + quote(name));
                meta_key_ = std::move(name);
                state_ = State::MetaValue;
                return true;
            case State::EntryKey: {
                field_ = name == "dtype" ? Field::DType
                         : name == "shape" ? Field::Shape
                         : name == "data_offsets" ? Field::Offsets
                                                  : Field::Other;
                const unsigned bit = 1u << static_cast<unsigned>(field_);
                if (field_ != Field::Other && (fields_seen_ & bit)) fail(in_entry() + "duplicate field " + quote(name));
                fields_seen_ |= bit;
                state_ = State::EntryValue;
                return true;
            }
            case State::Skip: return true;
            default: fail("unexpected key " + quote(name));
        }
    }
    bool end_object() override {
        switch (state_) {
            case State::TopKey: state_ = State::Done; return true;
            case State::MetaKey: state_ = State::TopKey; return true;
            case State::EntryKey:
                if (!current().dtype) fail(in_entry() + "missing \"dtype\"");
                if (!current().shape) fail(in_entry() + "missing \"shape\"");
                if (!current().offsets) fail(in_entry() + "missing \"data_offsets\"");
                state_ = State::TopKey;
                return true;
            case State::Skip: return leave_skipped();
            default: fail("unexpected end of an object");
        }
    }
    bool start_array(std::size_t) override {
        if (state_ == State::EntryValue && field_ == Field::Shape) {
            current().shape.emplace();
            state_ = State::ShapeItem;
            return true;
        }
        if (state_ == State::EntryValue && field_ == Field::Offsets) {
            current().offsets.emplace();
            state_ = State::OffsetItem;
            return true;
        }
        return on_value(Kind::Array);
    }
    bool end_array() override {
        switch (state_) {
            case State::ShapeItem: state_ = State::EntryKey; return true;
            case State::OffsetItem:
                if (current().offsets->size() != 2)
                    fail(in_entry() + "data_offsets has " + std::to_string(current().offsets->size()) +
                         " numbers, expected 2 [begin, end]");
                state_ = State::EntryKey;
                return true;
            case State::Skip: return leave_skipped();
            default: fail("unexpected end of an array");
        }
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& error) override {
        // nlohmann's message quotes the offending bytes, which may be anything: escape them.
        fail("header is not valid JSON: " + printable(error.what()));
    }

private:
    enum class Field : unsigned { DType, Shape, Offsets, Other };
    enum class Kind { Null, Boolean, Number, String, Binary, Object, Array };

    static const char* kind_name(Kind kind) {
        switch (kind) {
            case Kind::Null: return "null";
            case Kind::Boolean: return "a boolean";
            case Kind::Number: return "a number";
            case Kind::String: return "a string";
            case Kind::Binary: return "binary data";
            case Kind::Object: return "an object";
            case Kind::Array: return "an array";
        }
        return "a value";
    }

    RawEntry& current() { return entries.back(); }
    std::string in_entry() { return "tensor " + quote(current().name) + ": "; }

    [[noreturn]] void fail(const std::string& what) const { throw IOError(source_ + ": " + what); }

    /// A value where the schema has no use for it: ignored inside a skipped field, an error
    /// anywhere else (except a null __metadata__, which means none).
    bool on_value(Kind value) {
        const std::string kind = kind_name(value);
        switch (state_) {
            case State::TopValue:
                if (top_key_is_metadata_) {
                    if (value == Kind::Null) {
                        state_ = State::TopKey;
                        return true;
                    }
                    fail("__metadata__ must be an object of strings, found " + kind);
                }
                fail("tensor " + quote(current().name) + ": entry must be an object, found " + kind);
            case State::MetaValue:
                fail("__metadata__: value of " + quote(meta_key_) + " must be a string, found " + kind);
            case State::EntryValue:
                if (field_ == Field::Other) return enter_skipped(value);
                fail(in_entry() + expectation(field_) + ", found " + kind);
            case State::ShapeItem: fail(in_entry() + "shape must hold non-negative integers, found " + kind);
            case State::OffsetItem:
                fail(in_entry() + "data_offsets must hold non-negative integers, found " + kind);
            case State::Skip: return enter_skipped(value);
            default: fail("unexpected " + kind);
        }
    }
    bool integer_problem(const std::string& what) {
        if (state_ == State::ShapeItem)
            fail(in_entry() + "shape has " + what + " (dimensions are non-negative integers)");
        if (state_ == State::OffsetItem)
            fail(in_entry() + "data_offsets has " + what + " (offsets are non-negative integers)");
        return on_value(Kind::Number);
    }
    static std::string expectation(Field field) {
        switch (field) {
            case Field::DType: return "\"dtype\" must be a string";
            case Field::Shape: return "\"shape\" must be an array of non-negative integers";
            case Field::Offsets: return "\"data_offsets\" must be an array of 2 non-negative integers";
            case Field::Other: break;
        }
        return "unexpected value";
    }

    /// An ignored field's value: containers raise the depth until their end brings it back to 0.
    bool enter_skipped(Kind value) {
        if (value == Kind::Object || value == Kind::Array) {
            ++skip_depth_;
            state_ = State::Skip;
        } else if (skip_depth_ == 0) {
            state_ = State::EntryKey;
        }
        return true;
    }
    bool leave_skipped() {
        if (--skip_depth_ == 0) state_ = State::EntryKey;
        return true;
    }

    const std::string& source_;
    State state_ = State::Start;
    Field field_ = Field::Other;
    unsigned fields_seen_ = 0;
    bool top_key_is_metadata_ = false;
    std::size_t skip_depth_ = 0;
    std::string meta_key_;
    std::unordered_set<std::string> names_;
};

/// a * b, or nullopt when it does not fit in `limit`.
std::optional<std::uint64_t> checked_mul(std::uint64_t a, std::uint64_t b, std::uint64_t limit) {
    if (a != 0 && b > limit / a) return std::nullopt;
    return a * b;
}

/// Checks dtypes, shapes and the data layout; `data_bytes` is the size of the data area.
SafetensorsHeader validate(std::vector<RawEntry> raw, Metadata metadata, std::uint64_t data_offset,
                           std::uint64_t data_bytes, const std::string& source) {
    const auto fail = [&](const RawEntry& e, const std::string& what) {
        throw IOError(source + ": tensor " + quote(e.name) + ": " + what);
    };
    const auto range = [](std::uint64_t begin, std::uint64_t end) {
        std::string text = "[";
        text += std::to_string(begin);
        text += ", ";
        text += std::to_string(end);
        return text += ']';
    };
    SafetensorsHeader header;
    header.data_offset = data_offset;
    header.tensors.reserve(raw.size());
    for (RawEntry& e : raw) {
        const FileDType* dtype = find_file_dtype(*e.dtype);
        if (dtype == nullptr)
            fail(e, "unsupported dtype " + quote(*e.dtype) + " (graft reads " + supported_file_dtypes() + ")");
        constexpr auto kMaxElements = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
        std::optional<std::uint64_t> numel = 1;
        for (std::int64_t d : *e.shape) {
            numel = checked_mul(*numel, static_cast<std::uint64_t>(d), kMaxElements);
            if (!numel) fail(e, "shape " + shape_str(*e.shape) + " has more elements than fit in int64");
        }
        const std::optional<std::uint64_t> nbytes = checked_mul(*numel, dtype->size, kMaxElements);
        if (!nbytes)
            fail(e, "shape " + shape_str(*e.shape) + " of " + std::string(dtype->name) + " overflows the byte count");
        const std::uint64_t begin = (*e.offsets)[0], end = (*e.offsets)[1];
        if (begin > end) fail(e, "data_offsets " + range(begin, end) + " begin after they end");
        if (end > data_bytes)
            fail(e, "data_offsets " + range(begin, end) + " lie outside the data area (" + std::to_string(data_bytes) +
                        " bytes)");
        if (end - begin != *nbytes)
            fail(e, "data_offsets " + range(begin, end) + " span " + std::to_string(end - begin) +
                        " bytes, but shape " + shape_str(*e.shape) + " of " + std::string(dtype->name) + " needs " +
                        std::to_string(*nbytes));
        header.tensors.push_back(
            SafetensorsTensorInfo{std::move(e.name), std::move(*e.dtype), std::move(*e.shape), begin, end});
    }
    // The ranges, in file order, must tile the data area exactly: no overlap, no gap, nothing after.
    std::vector<const SafetensorsTensorInfo*> by_begin;
    by_begin.reserve(header.tensors.size());
    for (const auto& t : header.tensors) by_begin.push_back(&t);
    std::stable_sort(by_begin.begin(), by_begin.end(), [](const auto* a, const auto* b) {
        return a->data_begin != b->data_begin ? a->data_begin < b->data_begin : a->data_end < b->data_end;
    });
    std::uint64_t expected_begin = 0;
    const SafetensorsTensorInfo* previous = nullptr;
    for (const SafetensorsTensorInfo* t : by_begin) {
        if (t->data_begin != expected_begin) {
            const std::string what =
                source + ": tensor " + quote(t->name) + ": data_offsets " + range(t->data_begin, t->data_end);
            if (previous == nullptr)
                throw IOError(what + " leave a gap at the start of the data area (the first tensor must begin at 0)");
            const std::string other =
                "tensor " + quote(previous->name) + " " + range(previous->data_begin, previous->data_end);
            throw IOError(what + (t->data_begin < expected_begin ? " overlap " : " leave a gap after ") + other);
        }
        expected_begin = t->data_end;
        previous = t;
    }
    if (expected_begin != data_bytes)
        throw IOError(source + ": the data area holds " + std::to_string(data_bytes) + " bytes but the tensors cover " +
                      std::to_string(expected_begin) + " (" + std::to_string(data_bytes - expected_begin) +
                      " trailing bytes belong to no tensor)");
    header.metadata = std::move(metadata);
    return header;
}

}  // namespace

const FileDType* find_file_dtype(std::string_view name) {
    for (const FileDType& d : kFileDTypes)
        if (d.name == name) return &d;
    return nullptr;
}

std::string_view file_dtype_name(DType dtype) {
    switch (dtype) {
        case DType::Float32: return "F32";
        case DType::Float64: return "F64";
        case DType::Int64: return "I64";
        case DType::Int32: return "I32";
        case DType::Bool: return "BOOL";
        case DType::BFloat16: return "BF16";
        case DType::Float16: return "F16";
    }
    throw ValueError("save_safetensors: unknown dtype " + std::to_string(static_cast<int>(dtype)));
}

std::string supported_file_dtypes() {
    std::string names;
    for (const FileDType& d : kFileDTypes) names += (names.empty() ? "" : ", ") + std::string(d.name);
    return names;
}

SafetensorsHeader parse_safetensors(const std::uint8_t* bytes, std::size_t size, const std::string& source) {
    if (size < 8)
        throw IOError(source + ": file is " + std::to_string(size) +
                      " bytes, shorter than the 8-byte header length that starts a safetensors file");
    std::uint64_t header_bytes = 0;
    for (int i = 7; i >= 0; --i) header_bytes = (header_bytes << 8) | bytes[i];  // little-endian
    if (header_bytes > kMaxHeaderBytes)
        throw IOError(source + ": header length " + std::to_string(header_bytes) + " exceeds the limit of " +
                      std::to_string(kMaxHeaderBytes) + " bytes (not a safetensors file?)");
    if (header_bytes > size - 8)
        throw IOError(source + ": header length " + std::to_string(header_bytes) + " runs past the end of the file (" +
                      std::to_string(size) + " bytes)");
    const std::uint8_t* first = bytes + 8;
    const std::uint8_t* last = first + header_bytes;
    if (header_bytes == 0 || *first != '{') {
        const std::string found =
            header_bytes == 0 ? "an empty header" : quote(std::string_view(reinterpret_cast<const char*>(first), 1));
        throw IOError(source + ": header must be a JSON object starting with '{', found " + found);
    }
    // nlohmann's lexer takes a NUL byte for the end of the input; JSON allows none anywhere.
    if (const void* nul = std::memchr(first, 0, header_bytes))
        throw IOError(source + ": header is not valid JSON: it holds a NUL byte at offset " +
                      std::to_string(static_cast<const std::uint8_t*>(nul) - first));
    HeaderHandler handler(source);
    if (!json::sax_parse(first, last, &handler)) throw IOError(source + ": header is not valid JSON");
    return validate(std::move(handler.entries), std::move(handler.metadata), 8 + header_bytes,
                    size - 8 - header_bytes, source);
}

}  // namespace graft::io::detail
