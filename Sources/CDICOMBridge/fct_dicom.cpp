// fct_dicom.cpp: the C ABI over GDCM — reads one DICOM file's header, geometry and pixels as HU; writes CT slices.
#include "fct_dicom.h"

#include <gdcmAttribute.h>
#include <gdcmDataSet.h>
#include <gdcmFile.h>
#include <gdcmImage.h>
#include <gdcmImageChangeTransferSyntax.h>
#include <gdcmImageReader.h>
#include <gdcmImageWriter.h>
#include <gdcmReader.h>
#include <gdcmSequenceOfItems.h>
#include <gdcmTrace.h>
#include <gdcmTransferSyntax.h>
#include <gdcmUIDGenerator.h>

#include <sys/stat.h>

#include <cctype>
#include <cmath>
#include <fstream>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

/// An error with its status code; thrown inside the bridge, turned into a status + message at the C boundary.
struct BridgeError : std::runtime_error {
    int32_t status;
    BridgeError(int32_t status, const std::string &message) : std::runtime_error(message), status(status) {}
};

int32_t fail(char **error, int32_t status, const char *message) noexcept {
    if (error) {
        *error = strdup(message ? message : "unknown error");
    }
    return status;
}

template <typename Body> int32_t guarded(char **error, Body body) noexcept {
    if (error) *error = nullptr;
    try {
        body();
        return FCT_DICOM_OK;
    } catch (const BridgeError &e) {
        return fail(error, e.status, e.what());
    } catch (const std::exception &e) {
        return fail(error, FCT_DICOM_INTERNAL_ERROR, e.what());
    } catch (...) {
        return fail(error, FCT_DICOM_INTERNAL_ERROR, "unknown C++ exception in the DICOM bridge");
    }
}

const gdcm::Tag kPixelData(0x7fe0, 0x0010);
const gdcm::Tag kSharedGroups(0x5200, 0x9229);
const gdcm::Tag kPerFrameGroups(0x5200, 0x9230);
const gdcm::Tag kPixelMeasures(0x0028, 0x9110);
const gdcm::Tag kPlanePosition(0x0020, 0x9113);
const gdcm::Tag kPlaneOrientation(0x0020, 0x9116);
const gdcm::Tag kPixelValueTransformation(0x0028, 0x9145);
const gdcm::Tag kPixelSpacing(0x0028, 0x0030);
const gdcm::Tag kSliceThickness(0x0018, 0x0050);
const gdcm::Tag kImagePosition(0x0020, 0x0032);
const gdcm::Tag kImageOrientation(0x0020, 0x0037);
const gdcm::Tag kRescaleIntercept(0x0028, 0x1052);
const gdcm::Tag kRescaleSlope(0x0028, 0x1053);

/// The value of a text element without DICOM's trailing spaces/NULs; nullopt when absent or empty.
std::optional<std::string> text(const gdcm::DataSet &ds, const gdcm::Tag &tag) {
    if (!ds.FindDataElement(tag)) return std::nullopt;
    const gdcm::DataElement &element = ds.GetDataElement(tag);
    const gdcm::ByteValue *bytes = element.GetByteValue();
    if (!bytes || bytes->GetLength() == 0) return std::nullopt;
    std::string value(bytes->GetPointer(), bytes->GetLength());
    size_t end = value.find_last_not_of(std::string(" \0", 2));
    size_t start = value.find_first_not_of(' ');
    if (end == std::string::npos || start == std::string::npos) return std::nullopt;
    return value.substr(start, end - start + 1);
}

/// A multi-valued decimal string (DS/IS, values separated by '\'); nullopt when absent, empty or not numbers.
std::optional<std::vector<double>> numbers(const gdcm::DataSet &ds, const gdcm::Tag &tag) {
    std::optional<std::string> value = text(ds, tag);
    if (!value) return std::nullopt;
    std::vector<double> result;
    size_t start = 0;
    while (start <= value->size()) {
        size_t end = value->find('\\', start);
        if (end == std::string::npos) end = value->size();
        std::string piece = value->substr(start, end - start);
        char *stop = nullptr;
        double number = std::strtod(piece.c_str(), &stop);
        while (stop && *stop == ' ') stop++;
        if (piece.empty() || !stop || *stop != '\0' || !std::isfinite(number)) return std::nullopt;
        result.push_back(number);
        start = end + 1;
    }
    return result;
}

/// Sequences taken from elements. GDCM's GetValueAsSQ parses an element it read as bytes (an unknown or damaged VR)
/// into a new sequence that lives only as long as its SmartPointer, so a dataset pointer taken from one is valid only
/// while the sequence is kept here.
using KeptSequences = std::vector<gdcm::SmartPointer<gdcm::SequenceOfItems>>;

/// The nested dataset of the first item of sequence `tag` in `ds` (its sequence kept in `kept`), or nullptr.
const gdcm::DataSet *first_item(const gdcm::DataSet &ds, const gdcm::Tag &tag, KeptSequences &kept) {
    if (!ds.FindDataElement(tag)) return nullptr;
    gdcm::SmartPointer<gdcm::SequenceOfItems> sequence = ds.GetDataElement(tag).GetValueAsSQ();
    if (!sequence || sequence->GetNumberOfItems() < 1) return nullptr;
    kept.push_back(sequence);
    return &sequence->GetItem(1).GetNestedDataSet();
}

/// `tag` inside functional group `group`, looked up in the frame's per-frame item, then the shared item, then
/// at the top level — the precedence of enhanced multi-frame objects.
std::optional<std::vector<double>> grouped_numbers(const gdcm::DataSet &top, const gdcm::DataSet *frame,
                                                   const gdcm::DataSet *shared, const gdcm::Tag &group,
                                                   const gdcm::Tag &tag, KeptSequences &kept) {
    for (const gdcm::DataSet *groups : {frame, shared}) {
        if (!groups) continue;
        if (const gdcm::DataSet *macro = first_item(*groups, group, kept)) {
            if (auto values = numbers(*macro, tag)) return values;
        }
    }
    return numbers(top, tag);
}

template <uint16_t Group, uint16_t Element> std::optional<int32_t> unsigned_short(const gdcm::DataSet &ds) {
    gdcm::Attribute<Group, Element> attribute;
    if (!ds.FindDataElement(attribute.GetTag()) || ds.GetDataElement(attribute.GetTag()).IsEmpty()) return std::nullopt;
    attribute.SetFromDataSet(ds);
    return static_cast<int32_t>(attribute.GetValue());
}

/// Turns off GDCM's own warning and error printing: the bridge reports failures through its messages.
void quiet_gdcm() {
    static std::once_flag once;
    std::call_once(once, [] {
        gdcm::Trace::SetDebug(false);
        gdcm::Trace::SetWarning(false);
        gdcm::Trace::SetError(false);
    });
}

bool file_exists(const char *path) {
    struct stat info;
    return stat(path, &info) == 0 && S_ISREG(info.st_mode);
}


/// Walks the file's element structure (preamble, meta group, dataset, sequences, items, encapsulated fragments)
/// without decoding values and throws when a declared length runs past the end of the file or a header is
/// damaged. Debian's GDCM is built with assertions on, and a truncated header makes it abort the process, so
/// every file passes this check before GDCM sees it. Deflated datasets cannot be walked and are left to GDCM.
class StructureCheck {
public:
    explicit StructureCheck(const std::string &path) : path_(path), in_(path, std::ios::binary) {
        if (!in_) throw BridgeError(FCT_DICOM_NOT_FOUND, path + ": cannot be opened (permissions?)");
        in_.seekg(0, std::ios::end);
        size_ = static_cast<uint64_t>(in_.tellg());
    }

    void run() {
        uint64_t at = 0;
        bool is_explicit = true, big_endian = false;
        char magic[4] = {};
        if (size_ >= 132 && read(128, magic, 4) && std::memcmp(magic, "DICM", 4) == 0) {
            at = 132;
            std::string syntax;
            // The meta group: explicit VR little endian, group 0002, first in the file.
            while (at < size_ && peek_group(at, false) == 0x0002) {
                Header header = element(at, true, false);
                if (header.tag_element == 0x0010 && header.length != kUndefined && header.length < 256) {
                    std::string value(header.length, '\0');
                    read(header.value_at, value.data(), header.length);
                    syntax = value.substr(0, value.find_last_not_of(std::string(" \0", 2)) + 1);
                }
                at = skip(header, true, false);
            }
            if (syntax == "1.2.840.10008.1.2.1.99") return;  // deflated: GDCM inflates and checks it
            is_explicit = syntax != "1.2.840.10008.1.2";
            big_endian = syntax == "1.2.840.10008.1.2.2";
        } else if (size_ >= 6) {
            // No preamble: guess explicit VR from two upper-case letters after the first tag, as GDCM does.
            char vr[2] = {};
            read(4, vr, 2);
            is_explicit = std::isupper(static_cast<unsigned char>(vr[0])) && std::isupper(static_cast<unsigned char>(vr[1]));
        }
        if (at >= size_) truncated(at, "the file ends before the dataset");
        dataset(at, size_, is_explicit, big_endian, false);
    }

private:
    static constexpr uint32_t kUndefined = 0xffffffffu;
    struct Header {
        uint16_t tag_group, tag_element;
        char vr[2];
        uint32_t length;
        uint64_t start, value_at;
    };

    [[noreturn]] void truncated(uint64_t at, const std::string &what) const {
        throw BridgeError(FCT_DICOM_UNREADABLE, path_ + ": truncated or damaged DICOM file (" + std::to_string(size_) +
                                                    " bytes): " + what + " at byte " + std::to_string(at) +
                                                    "; copy it again from the PACS export or remove it from the folder");
    }

    bool read(uint64_t at, char *out, uint64_t count) {
        if (at + count > size_) return false;
        in_.clear();
        in_.seekg(static_cast<std::streamoff>(at));
        in_.read(out, static_cast<std::streamsize>(count));
        return static_cast<uint64_t>(in_.gcount()) == count;
    }

    uint16_t u16(uint64_t at, bool big_endian) {
        unsigned char b[2];
        if (!read(at, reinterpret_cast<char *>(b), 2)) truncated(at, "an element header is cut");
        return big_endian ? static_cast<uint16_t>(b[0] << 8 | b[1]) : static_cast<uint16_t>(b[1] << 8 | b[0]);
    }

    uint32_t u32(uint64_t at, bool big_endian) {
        unsigned char b[4];
        if (!read(at, reinterpret_cast<char *>(b), 4)) truncated(at, "an element header is cut");
        return big_endian ? (uint32_t(b[0]) << 24 | uint32_t(b[1]) << 16 | uint32_t(b[2]) << 8 | b[3])
                          : (uint32_t(b[3]) << 24 | uint32_t(b[2]) << 16 | uint32_t(b[1]) << 8 | b[0]);
    }

    uint16_t peek_group(uint64_t at, bool big_endian) { return u16(at, big_endian); }

    /// The element header at `at`; item and delimiter tags (FFFE,xxxx) never carry a VR.
    Header element(uint64_t at, bool is_explicit, bool big_endian) {
        Header header{};
        header.start = at;
        header.tag_group = u16(at, big_endian);
        header.tag_element = u16(at + 2, big_endian);
        if (header.tag_group == 0xfffe || !is_explicit) {
            header.length = u32(at + 4, big_endian);
            header.value_at = at + 8;
            return header;
        }
        if (!read(at + 4, header.vr, 2)) truncated(at, "an element header is cut");
        if (!std::isupper(static_cast<unsigned char>(header.vr[0])) || !std::isupper(static_cast<unsigned char>(header.vr[1]))) {
            truncated(at, "an element has no valid VR");
        }
        static const char *long_vrs[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UR", "UT", "UN", "UV"};
        bool long_form = false;
        for (const char *vr : long_vrs) long_form = long_form || std::memcmp(vr, header.vr, 2) == 0;
        if (long_form) {
            header.length = u32(at + 8, big_endian);
            header.value_at = at + 12;
        } else {
            header.length = u16(at + 6, big_endian);
            header.value_at = at + 8;
        }
        return header;
    }

    /// Sequences nest deeper than this only in damaged or hostile files (real objects stay within a few levels); the
    /// walk is recursive, and a reader thread's stack is small.
    static constexpr int kMaxNesting = 64;

    /// The offset after the element, walking undefined-length sequences and encapsulated pixel data.
    uint64_t skip(const Header &header, bool is_explicit, bool big_endian) {
        if (header.length != kUndefined) {
            const uint64_t end = header.value_at + header.length;
            if (end > size_) {
                truncated(header.start, "element " + tag_text(header) + " of " + std::to_string(header.length) +
                                            " bytes runs past the end of the file; it starts");
            }
            // GDCM parses a sequence of explicit length too: its items must fit it.
            if (is_explicit && has_vr(header, "SQ")) defined_items(header.value_at, end, big_endian);
            return end;
        }
        // Undefined length: a sequence of items (an UN one is implicit VR inside) or encapsulated fragments; GDCM
        // aborts on any other element of undefined length.
        const bool is_pixel_data = header.tag_group == 0x7fe0 && header.tag_element == 0x0010;
        if (is_explicit && !is_pixel_data && !has_vr(header, "SQ") && !has_vr(header, "UN")) {
            truncated(header.start, "element " + tag_text(header) + " has an undefined length but is not a sequence; it starts");
        }
        const bool nested_explicit = is_explicit && !has_vr(header, "UN");
        uint64_t at = header.value_at;
        while (true) {
            Header item = element(at, nested_explicit, big_endian);
            if (item.tag_group == 0xfffe && item.tag_element == 0xe0dd) return item.value_at;
            if (item.tag_group != 0xfffe || item.tag_element != 0xe000) truncated(at, "a sequence holds a non-item");
            if (item.length != kUndefined) {
                at = skip(item, nested_explicit, big_endian);
            } else {
                if (++depth_ > kMaxNesting) truncated(at, "sequences nest more than " + std::to_string(kMaxNesting) + " deep");
                at = dataset(item.value_at, size_, nested_explicit, big_endian, true);
                --depth_;
            }
        }
    }

    /// Walks the items of an explicit-VR sequence of defined length, which fill [at, end) exactly.
    void defined_items(uint64_t at, uint64_t end, bool big_endian) {
        if (++depth_ > kMaxNesting) truncated(at, "sequences nest more than " + std::to_string(kMaxNesting) + " deep");
        while (at < end) {
            Header item = element(at, true, big_endian);
            if (item.tag_group != 0xfffe || item.tag_element != 0xe000) truncated(at, "a sequence holds a non-item");
            if (item.length == kUndefined) {
                at = dataset(item.value_at, size_, true, big_endian, true);
            } else {
                if (item.value_at + item.length > end) truncated(at, "an item runs past the end of its sequence");
                at = dataset(item.value_at, item.value_at + item.length, true, big_endian, false);
            }
        }
        if (at != end) truncated(at, "a sequence's items run past its length");
        --depth_;
    }

    static bool has_vr(const Header &header, const char *vr) { return header.vr[0] == vr[0] && header.vr[1] == vr[1]; }

    static std::string tag_text(const Header &header) {
        char tag[16];
        std::snprintf(tag, sizeof tag, "(%04X,%04X)", header.tag_group, header.tag_element);
        return tag;
    }

    /// Walks elements from `at` up to `end`, or, inside an undefined-length item, up to its delimiter.
    uint64_t dataset(uint64_t at, uint64_t end, bool is_explicit, bool big_endian, bool in_item) {
        while (at < end) {
            Header header = element(at, is_explicit, big_endian);
            if (header.tag_group == 0xfffe && header.tag_element == 0xe00d) {
                if (in_item) return header.value_at;
                truncated(at, "an item delimiter outside an item");
            }
            at = skip(header, is_explicit, big_endian);
        }
        if (in_item) truncated(at, "the file ends inside a sequence item");
        return at;
    }

    std::string path_;
    std::ifstream in_;
    uint64_t size_ = 0;
    int depth_ = 0;
};
} // namespace

struct fct_dicom_image {
    std::string path;
    fct_dicom_info info{};
    std::vector<double> positions;  // 3 per frame
    std::vector<double> slopes, intercepts;  // 1 per frame
    std::string modality, series_uid, sop_uid, study_uid, transfer_syntax;
    /// Set when read with pixels: the reader owns the decoded image.
    std::unique_ptr<gdcm::ImageReader> reader;
};

namespace {

/// Fills everything but the pixels from the file's dataset.
void describe(fct_dicom_image &image, const gdcm::File &file) {
    const gdcm::DataSet &ds = file.GetDataSet();
    const std::string &path = image.path;
    fct_dicom_info &info = image.info;
    std::optional<int32_t> rows = unsigned_short<0x0028, 0x0010>(ds);
    std::optional<int32_t> columns = unsigned_short<0x0028, 0x0011>(ds);
    if (!rows || !columns || *rows <= 0 || *columns <= 0) {
        throw BridgeError(FCT_DICOM_NOT_AN_IMAGE, path + ": has no Rows/Columns, so it is not an image (a report, "
                                                        "presentation state or DICOMDIR?); leave it out of the scan folders");
    }
    info.rows = *rows;
    info.columns = *columns;
    auto frames = numbers(ds, gdcm::Tag(0x0028, 0x0008));
    info.frames = frames && !frames->empty() && (*frames)[0] >= 1 ? static_cast<int32_t>((*frames)[0]) : 1;
    info.bits_allocated = unsigned_short<0x0028, 0x0100>(ds).value_or(0);
    info.bits_stored = unsigned_short<0x0028, 0x0101>(ds).value_or(info.bits_allocated);
    info.pixel_representation = unsigned_short<0x0028, 0x0103>(ds).value_or(0);
    info.samples_per_pixel = unsigned_short<0x0028, 0x0002>(ds).value_or(1);

    image.modality = text(ds, gdcm::Tag(0x0008, 0x0060)).value_or("");
    image.series_uid = text(ds, gdcm::Tag(0x0020, 0x000e)).value_or("");
    image.sop_uid = text(ds, gdcm::Tag(0x0008, 0x0018)).value_or("");
    image.study_uid = text(ds, gdcm::Tag(0x0020, 0x000d)).value_or("");
    const char *syntax = file.GetHeader().GetDataSetTransferSyntax().GetString();
    image.transfer_syntax = syntax ? syntax : "";
    if (auto number = numbers(ds, gdcm::Tag(0x0020, 0x0013)); number && !number->empty()) {
        info.has_instance_number = 1;
        info.instance_number = static_cast<int32_t>((*number)[0]);
    }

    // Per-frame functional groups (enhanced multi-frame): one item per frame.
    KeptSequences kept;
    const gdcm::DataSet *shared = first_item(ds, kSharedGroups, kept);
    std::vector<const gdcm::DataSet *> per_frame(static_cast<size_t>(info.frames), nullptr);
    if (ds.FindDataElement(kPerFrameGroups)) {
        gdcm::SmartPointer<gdcm::SequenceOfItems> sequence = ds.GetDataElement(kPerFrameGroups).GetValueAsSQ();
        if (sequence) {
            kept.push_back(sequence);
            info.enhanced = 1;
            if (sequence->GetNumberOfItems() != static_cast<size_t>(info.frames)) {
                throw BridgeError(FCT_DICOM_UNSUPPORTED,
                                  path + ": has " + std::to_string(sequence->GetNumberOfItems()) +
                                      " per-frame functional group items for " + std::to_string(info.frames) +
                                      " frames; the file is inconsistent, re-export it");
            }
            for (size_t frame = 0; frame < per_frame.size(); frame++) {
                per_frame[frame] = &sequence->GetItem(frame + 1).GetNestedDataSet();
            }
        }
    }

    auto spacing = grouped_numbers(ds, per_frame[0], shared, kPixelMeasures, kPixelSpacing, kept);
    if (spacing && spacing->size() == 2 && (*spacing)[0] > 0 && (*spacing)[1] > 0) {
        info.pixel_spacing[0] = (*spacing)[0];
        info.pixel_spacing[1] = (*spacing)[1];
    } else {
        throw BridgeError(FCT_DICOM_UNSUPPORTED, path + ": has no valid PixelSpacing (0028,0030), so its voxel size is "
                                                        "unknown; export the series with its geometry");
    }
    if (auto thickness = grouped_numbers(ds, per_frame[0], shared, kPixelMeasures, kSliceThickness, kept);
        thickness && !thickness->empty()) {
        info.slice_thickness = (*thickness)[0];
    }
    auto orientation = grouped_numbers(ds, per_frame[0], shared, kPlaneOrientation, kImageOrientation, kept);
    if (orientation && orientation->size() == 6) {
        info.has_orientation = 1;
        std::copy(orientation->begin(), orientation->end(), info.orientation);
    }

    info.has_positions = 1;
    for (size_t frame = 0; frame < per_frame.size(); frame++) {
        if (info.enhanced && frame > 0) {
            auto other = grouped_numbers(ds, per_frame[frame], shared, kPlaneOrientation, kImageOrientation, kept);
            if (info.has_orientation && (!other || *other != *orientation)) {
                throw BridgeError(FCT_DICOM_UNSUPPORTED, path + ": frame " + std::to_string(frame + 1) +
                                                             " has another ImageOrientationPatient than frame 1; "
                                                             "FedCT reads only planar stacks");
            }
        }
        auto position = grouped_numbers(ds, per_frame[frame], shared, kPlanePosition, kImagePosition, kept);
        if (position && position->size() == 3) {
            image.positions.insert(image.positions.end(), position->begin(), position->end());
        } else {
            info.has_positions = 0;
            image.positions.insert(image.positions.end(), {0.0, 0.0, 0.0});
        }
        auto slope = grouped_numbers(ds, per_frame[frame], shared, kPixelValueTransformation, kRescaleSlope, kept);
        auto intercept = grouped_numbers(ds, per_frame[frame], shared, kPixelValueTransformation, kRescaleIntercept, kept);
        image.slopes.push_back(slope && !slope->empty() && (*slope)[0] != 0 ? (*slope)[0] : 1.0);
        image.intercepts.push_back(intercept && !intercept->empty() ? (*intercept)[0] : 0.0);
    }
}

/// Converts one decoded stored value buffer to floats, honouring BitsStored and the sign.
template <typename Stored>
void convert(const char *buffer, size_t count, int bits_stored, bool is_signed, double slope, double intercept, float *out) {
    const Stored *values = reinterpret_cast<const Stored *>(buffer);
    const int width = static_cast<int>(sizeof(Stored) * 8);
    const bool mask = bits_stored > 0 && bits_stored < width;
    const uint64_t low = mask ? ((uint64_t(1) << bits_stored) - 1) : ~uint64_t(0);
    for (size_t index = 0; index < count; index++) {
        double value;
        if (mask) {
            uint64_t bits = static_cast<uint64_t>(values[index]) & low;
            if (is_signed && (bits >> (bits_stored - 1)) & 1) {
                value = static_cast<double>(static_cast<int64_t>(bits) - (int64_t(1) << bits_stored));
            } else {
                value = static_cast<double>(bits);
            }
        } else {
            value = static_cast<double>(values[index]);
        }
        out[index] = static_cast<float>(value * slope + intercept);
    }
}

} // namespace

extern "C" {

void fct_dicom_free_string(char *string) { std::free(string); }

int32_t fct_dicom_image_read(const char *path, int32_t with_pixels, fct_dicom_image **out, char **error) {
    if (out) *out = nullptr;
    return guarded(error, [&] {
        if (!path || !out) throw BridgeError(FCT_DICOM_INVALID_ARGUMENT, "fct_dicom_image_read: NULL path or out");
        if (!file_exists(path)) {
            throw BridgeError(FCT_DICOM_NOT_FOUND, std::string(path) + ": no such file");
        }
        quiet_gdcm();
        StructureCheck(path).run();
        auto image = std::make_unique<fct_dicom_image>();
        image->path = path;
        const std::string unreadable =
            image->path + ": GDCM cannot read it as DICOM (truncated, damaged, or not a DICOM file); "
                          "copy it again from the PACS export or remove it from the folder";
        if (with_pixels) {
            image->reader = std::make_unique<gdcm::ImageReader>();
            image->reader->SetFileName(path);
            if (!image->reader->Read()) throw BridgeError(FCT_DICOM_UNREADABLE, unreadable);
            describe(*image, image->reader->GetFile());
        } else {
            gdcm::Reader reader;
            reader.SetFileName(path);
            if (!reader.ReadUpToTag(kPixelData)) throw BridgeError(FCT_DICOM_UNREADABLE, unreadable);
            describe(*image, reader.GetFile());
        }
        *out = image.release();
    });
}

void fct_dicom_image_free(fct_dicom_image *image) { delete image; }

int32_t fct_dicom_check_structure(const char *path, char **error) {
    return guarded(error, [&] {
        if (!path) throw BridgeError(FCT_DICOM_INVALID_ARGUMENT, "fct_dicom_check_structure: NULL path");
        if (!file_exists(path)) throw BridgeError(FCT_DICOM_NOT_FOUND, std::string(path) + ": no such file");
        StructureCheck(path).run();
    });
}

void fct_dicom_image_info(const fct_dicom_image *image, fct_dicom_info *info) {
    if (image && info) *info = image->info;
}

int32_t fct_dicom_image_frame(const fct_dicom_image *image, int32_t frame, double position[3], double *slope,
                              double *intercept, char **error) {
    return guarded(error, [&] {
        if (!image || !position || !slope || !intercept) {
            throw BridgeError(FCT_DICOM_INVALID_ARGUMENT, "fct_dicom_image_frame: NULL argument");
        }
        if (frame < 0 || frame >= image->info.frames) {
            throw BridgeError(FCT_DICOM_INVALID_ARGUMENT, image->path + ": frame " + std::to_string(frame) +
                                                              " out of range (the file has " +
                                                              std::to_string(image->info.frames) + ")");
        }
        std::memcpy(position, &image->positions[3 * static_cast<size_t>(frame)], 3 * sizeof(double));
        *slope = image->slopes[static_cast<size_t>(frame)];
        *intercept = image->intercepts[static_cast<size_t>(frame)];
    });
}

const char *fct_dicom_image_modality(const fct_dicom_image *image) { return image ? image->modality.c_str() : ""; }
const char *fct_dicom_image_series_instance_uid(const fct_dicom_image *image) { return image ? image->series_uid.c_str() : ""; }
const char *fct_dicom_image_sop_instance_uid(const fct_dicom_image *image) { return image ? image->sop_uid.c_str() : ""; }
const char *fct_dicom_image_study_instance_uid(const fct_dicom_image *image) { return image ? image->study_uid.c_str() : ""; }
const char *fct_dicom_image_transfer_syntax_uid(const fct_dicom_image *image) { return image ? image->transfer_syntax.c_str() : ""; }

int32_t fct_dicom_image_hu(const fct_dicom_image *image, float *out, int64_t count, char **error) {
    return guarded(error, [&] {
        if (!image || !out) throw BridgeError(FCT_DICOM_INVALID_ARGUMENT, "fct_dicom_image_hu: NULL argument");
        if (!image->reader) {
            throw BridgeError(FCT_DICOM_INVALID_ARGUMENT, image->path + ": was read without pixels (header only)");
        }
        const fct_dicom_info &info = image->info;
        const size_t frame_size = static_cast<size_t>(info.rows) * static_cast<size_t>(info.columns);
        const size_t total = frame_size * static_cast<size_t>(info.frames);
        if (count != static_cast<int64_t>(total)) {
            throw BridgeError(FCT_DICOM_INVALID_ARGUMENT, image->path + ": output holds " + std::to_string(count) +
                                                              " floats, the image has " + std::to_string(total));
        }
        const gdcm::Image &decoded = image->reader->GetImage();
        const gdcm::PixelFormat &format = decoded.GetPixelFormat();
        const gdcm::PhotometricInterpretation &photometric = decoded.GetPhotometricInterpretation();
        if (format.GetSamplesPerPixel() != 1 || (photometric != gdcm::PhotometricInterpretation::MONOCHROME1 &&
                                                 photometric != gdcm::PhotometricInterpretation::MONOCHROME2)) {
            throw BridgeError(FCT_DICOM_UNSUPPORTED, image->path + ": is " + (photometric.GetString() ? photometric.GetString() : "?") +
                                                         " with " + std::to_string(format.GetSamplesPerPixel()) +
                                                         " samples per pixel; CT must be greyscale (MONOCHROME1/2)");
        }
        const size_t pixel_size = format.GetPixelSize();
        if (decoded.GetBufferLength() != total * pixel_size) {
            throw BridgeError(FCT_DICOM_UNREADABLE,
                              image->path + ": pixel data holds " + std::to_string(decoded.GetBufferLength()) +
                                  " bytes where " + std::to_string(info.rows) + "x" + std::to_string(info.columns) + "x" +
                                  std::to_string(info.frames) + " pixels need " + std::to_string(total * pixel_size) +
                                  "; the file is truncated or damaged, copy it again");
        }
        std::vector<char> buffer(decoded.GetBufferLength());
        if (!decoded.GetBuffer(buffer.data())) {
            throw BridgeError(FCT_DICOM_UNREADABLE, image->path + ": GDCM could not decode the pixel data (transfer syntax " +
                                                        image->transfer_syntax + "); the file is damaged or uses a "
                                                        "codec this GDCM build lacks");
        }
        const int bits_stored = format.GetBitsStored();
        for (size_t frame = 0; frame < static_cast<size_t>(info.frames); frame++) {
            const char *source = buffer.data() + frame * frame_size * pixel_size;
            float *target = out + frame * frame_size;
            const double slope = image->slopes[frame], intercept = image->intercepts[frame];
            switch (format.GetScalarType()) {
            case gdcm::PixelFormat::UINT8: convert<uint8_t>(source, frame_size, bits_stored, false, slope, intercept, target); break;
            case gdcm::PixelFormat::INT8: convert<int8_t>(source, frame_size, bits_stored, true, slope, intercept, target); break;
            case gdcm::PixelFormat::UINT16: convert<uint16_t>(source, frame_size, bits_stored, false, slope, intercept, target); break;
            case gdcm::PixelFormat::INT16: convert<int16_t>(source, frame_size, bits_stored, true, slope, intercept, target); break;
            case gdcm::PixelFormat::UINT32: convert<uint32_t>(source, frame_size, bits_stored, false, slope, intercept, target); break;
            case gdcm::PixelFormat::INT32: convert<int32_t>(source, frame_size, bits_stored, true, slope, intercept, target); break;
            case gdcm::PixelFormat::FLOAT32: convert<float>(source, frame_size, 0, true, slope, intercept, target); break;
            case gdcm::PixelFormat::FLOAT64: convert<double>(source, frame_size, 0, true, slope, intercept, target); break;
            default:
                throw BridgeError(FCT_DICOM_UNSUPPORTED, image->path + ": pixel type " + format.GetScalarTypeAsString() +
                                                             " is not supported (FedCT reads 8/16/32-bit integers "
                                                             "and floats)");
            }
        }
    });
}

int32_t fct_dicom_write_ct_slice(const char *path, const fct_dicom_slice *slice, char **error) {
    return guarded(error, [&] {
        if (!path || !slice || !slice->pixels || slice->rows <= 0 || slice->columns <= 0 || !slice->modality ||
            !slice->study_instance_uid || !slice->series_instance_uid) {
            throw BridgeError(FCT_DICOM_INVALID_ARGUMENT,
                              "fct_dicom_write_ct_slice: NULL path, pixels, modality or UID, or an empty image");
        }
        quiet_gdcm();
        gdcm::ImageWriter writer;
        gdcm::Image &image = writer.GetImage();
        image.SetNumberOfDimensions(2);
        image.SetDimension(0, static_cast<unsigned int>(slice->columns));
        image.SetDimension(1, static_cast<unsigned int>(slice->rows));
        image.SetPixelFormat(gdcm::PixelFormat(gdcm::PixelFormat::INT16));
        image.SetPhotometricInterpretation(gdcm::PhotometricInterpretation::MONOCHROME2);
        image.SetSpacing(0, slice->pixel_spacing[1]);
        image.SetSpacing(1, slice->pixel_spacing[0]);
        for (unsigned int axis = 0; axis < 3; axis++) image.SetOrigin(axis, slice->position[axis]);  // all three, whatever the image's dimension
        image.SetDirectionCosines(slice->orientation);
        image.SetSlope(slice->rescale_slope);
        image.SetIntercept(slice->rescale_intercept);
        image.SetTransferSyntax(gdcm::TransferSyntax::ExplicitVRLittleEndian);
        gdcm::DataElement pixels(kPixelData);
        pixels.SetByteValue(reinterpret_cast<const char *>(slice->pixels),
                            static_cast<uint32_t>(sizeof(int16_t) * static_cast<size_t>(slice->rows) *
                                                  static_cast<size_t>(slice->columns)));
        image.SetDataElement(pixels);

        gdcm::TransferSyntax::TSType target = gdcm::TransferSyntax::ExplicitVRLittleEndian;
        switch (slice->syntax) {
        case FCT_DICOM_EXPLICIT_LITTLE: break;
        case FCT_DICOM_JPEG2000_LOSSLESS:
            // GDCM 3.0.21's JPEG 2000 encoder overruns its output buffer on tiny images (seen up to ~48 pixels,
            // a heap corruption, not an error); 16x16 and larger encode and decode exactly, noise included.
            if (slice->rows < 16 || slice->columns < 16) {
                throw BridgeError(FCT_DICOM_INVALID_ARGUMENT, std::string(path) + ": JPEG 2000 needs at least 16x16 "
                                                                                  "pixels with this GDCM; write smaller "
                                                                                  "slices uncompressed or as RLE");
            }
            target = gdcm::TransferSyntax::JPEG2000Lossless;
            break;
        case FCT_DICOM_JPEG_LOSSLESS: target = gdcm::TransferSyntax::JPEGLosslessProcess14_1; break;
        case FCT_DICOM_RLE_LOSSLESS: target = gdcm::TransferSyntax::RLELossless; break;
        default: throw BridgeError(FCT_DICOM_INVALID_ARGUMENT, std::string(path) + ": unknown transfer syntax code");
        }
        if (target != gdcm::TransferSyntax::ExplicitVRLittleEndian) {
            gdcm::ImageChangeTransferSyntax change;
            change.SetTransferSyntax(target);
            change.SetInput(image);
            if (!change.Change()) {
                throw BridgeError(FCT_DICOM_INTERNAL_ERROR, std::string(path) + ": GDCM could not compress the slice to " +
                                                                gdcm::TransferSyntax::GetTSString(target));
            }
            writer.SetImage(change.GetOutput());
        }

        gdcm::DataSet &ds = writer.GetFile().GetDataSet();
        auto put = [&ds](uint16_t group, uint16_t element, const std::string &value, gdcm::VR vr) {
            std::string padded = value;
            if (padded.size() % 2) padded.push_back(vr == gdcm::VR::UI ? '\0' : ' ');
            gdcm::DataElement data(gdcm::Tag(group, element));
            data.SetVR(vr);
            data.SetByteValue(padded.data(), static_cast<uint32_t>(padded.size()));
            ds.Replace(data);
        };
        auto decimal = [](double value) {
            char text[32];
            std::snprintf(text, sizeof text, "%.10g", value);
            return std::string(text);
        };
        put(0x0008, 0x0016, "1.2.840.10008.5.1.4.1.1.2", gdcm::VR::UI);  // CT Image Storage
        if (slice->sop_instance_uid && *slice->sop_instance_uid) put(0x0008, 0x0018, slice->sop_instance_uid, gdcm::VR::UI);
        put(0x0008, 0x0060, slice->modality, gdcm::VR::CS);
        put(0x0010, 0x0020, slice->patient_id ? slice->patient_id : "", gdcm::VR::LO);
        put(0x0018, 0x0050, decimal(slice->slice_thickness), gdcm::VR::DS);
        put(0x0020, 0x000d, slice->study_instance_uid, gdcm::VR::UI);
        put(0x0020, 0x000e, slice->series_instance_uid, gdcm::VR::UI);
        put(0x0020, 0x0013, std::to_string(slice->instance_number), gdcm::VR::IS);

        writer.SetFileName(path);
        if (!writer.Write()) {
            throw BridgeError(FCT_DICOM_INTERNAL_ERROR, std::string(path) + ": GDCM could not write the file (folder "
                                                                            "missing or not writable?)");
        }
    });
}

int32_t fct_dicom_generate_uid(char *out, int32_t length, char **error) {
    return guarded(error, [&] {
        if (!out || length < 65) throw BridgeError(FCT_DICOM_INVALID_ARGUMENT, "fct_dicom_generate_uid: buffer below 65 bytes");
        static std::mutex lock;  // gdcm::UIDGenerator keeps static state
        std::lock_guard<std::mutex> guard(lock);
        gdcm::UIDGenerator generator;
        const char *uid = generator.Generate();
        if (!uid) throw BridgeError(FCT_DICOM_INTERNAL_ERROR, "GDCM could not generate a UID");
        std::snprintf(out, static_cast<size_t>(length), "%s", uid);
    });
}

} // extern "C"
