// load_archive ARCHIVE [EXTRA_FILE_NAME]
//
// Loads a TorchScript archive the way a C++ service does (torch::jit::load,
// libtorch only: no Python, no PyG), calls forward on the inputs stored in the
// archive and compares with the output stored beside them.
//
// Archive format: an ordinary torch.jit.save / pyg_jit_shim.save archive with
// one extra file (default name "conformance.pt") whose bytes Python wrote with
//     torch.save({"args": args, "expected": expected}, buffer)
// args: a tuple of tensors (forward's positional arguments); expected: a
// tensor or a (nested) tuple/list of tensors. That is torch.save's default zip
// format, which torch::jit::pickle_load reads as is (its tensors are plain CPU
// tensors; no custom classes).
//
// Prints one JSON line: {"status": "ok"|"load-failed"|"run-failed"|"mismatch",
// "detail": "...", "max_abs_diff": <number>|null}. Exit status: 0 ok, 1 any
// other status, 2 usage error.

#include <torch/script.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

constexpr double kAtol = 1e-6;  // conformance.ATOL: the Python side's bound

// TorchScript's compile errors start with blank lines ("\n\nType mismatch: ...").
std::string first_line(const std::string& text) {
  size_t start = text.find_first_not_of(" \t\r\n");
  if (start == std::string::npos) {
    return "";
  }
  return text.substr(start, text.find_first_of("\r\n", start) - start);
}

// c10::Error::what() appends a C++ backtrace; the message alone is wanted.
std::string message(const std::exception& e) {
  if (auto* c10_error = dynamic_cast<const c10::Error*>(&e)) {
    return first_line(c10_error->what_without_backtrace());
  }
  return first_line(e.what());
}

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

int report(const std::string& status, const std::string& detail, double diff, bool has_diff) {
  std::ostringstream line;
  line << "{\"status\": " << json_string(status) << ", \"detail\": " << json_string(detail)
       << ", \"max_abs_diff\": ";
  // JSON has no NaN or infinity: such a difference is reported as null.
  if (has_diff && std::isfinite(diff)) {
    line.precision(17);
    line << diff;
  } else {
    line << "null";
  }
  std::cout << line.str() << "}" << std::endl;
  return status == "ok" ? 0 : 1;
}

std::string shape(const at::Tensor& t) {
  std::ostringstream out;
  out << t.sizes();
  return out.str();
}

std::vector<c10::IValue> elements(const c10::IValue& value) {
  if (value.isTuple()) {
    return value.toTupleRef().elements().vec();
  }
  return value.toListRef().vec();  // a list, or a TensorList
}

// Walks expected and actual together; returns "" when they match in
// structure, shape and dtype (the differences are folded into max_diff),
// otherwise where and how they differ.
std::string compare(const c10::IValue& expected, const c10::IValue& actual,
                    const std::string& where, double& max_diff) {
  if (expected.isTensor()) {
    if (!actual.isTensor()) {
      return where + ": expected a Tensor, got " + actual.tagKind();
    }
    const at::Tensor& e = expected.toTensor();
    const at::Tensor& a = actual.toTensor();
    if (e.sizes() != a.sizes()) {
      return where + ": shape " + shape(a) + " != expected " + shape(e);
    }
    if (e.scalar_type() != a.scalar_type()) {
      return where + ": dtype " + c10::toString(a.scalar_type()) + " != expected " +
             c10::toString(e.scalar_type());
    }
    if (e.numel() > 0) {
      double diff = (a.to(at::kDouble) - e.to(at::kDouble)).abs().max().item<double>();
      // NaN must win over every number, which std::max would not do.
      max_diff = std::isnan(diff) || std::isnan(max_diff) ? NAN : std::max(max_diff, diff);
    }
    return "";
  }
  if (expected.isTuple() || expected.isList()) {
    if (!(actual.isTuple() || actual.isList())) {
      return where + ": expected a sequence, got " + actual.tagKind();
    }
    std::vector<c10::IValue> e = elements(expected);
    std::vector<c10::IValue> a = elements(actual);
    if (e.size() != a.size()) {
      return where + ": " + std::to_string(a.size()) + " elements != expected " +
             std::to_string(e.size());
    }
    for (size_t i = 0; i < e.size(); ++i) {
      std::string problem = compare(e[i], a[i], where + "[" + std::to_string(i) + "]", max_diff);
      if (!problem.empty()) {
        return problem;
      }
    }
    return "";
  }
  return where + ": cannot compare a " + expected.tagKind();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::cerr << "usage: load_archive ARCHIVE [EXTRA_FILE_NAME]" << std::endl;
    return 2;
  }
  const std::string extra_name = argc == 3 ? argv[2] : "conformance.pt";

  torch::jit::Module module;
  c10::IValue args;
  c10::IValue expected;
  try {
    torch::jit::ExtraFilesMap extra_files{{extra_name, ""}};
    module = torch::jit::load(argv[1], torch::kCPU, extra_files);
    const std::string& bytes = extra_files[extra_name];
    if (bytes.empty()) {
      return report("load-failed", "the archive has no extra file " + extra_name, 0, false);
    }
    c10::Dict<c10::IValue, c10::IValue> data =
        torch::jit::pickle_load(std::vector<char>(bytes.begin(), bytes.end())).toGenericDict();
    args = data.at("args");
    expected = data.at("expected");
  } catch (const std::exception& e) {
    return report("load-failed", message(e), 0, false);
  }

  c10::IValue actual;
  try {
    torch::NoGradGuard no_grad;
    module.eval();
    actual = module.forward(elements(args));
  } catch (const std::exception& e) {
    return report("run-failed", message(e), 0, false);
  }

  double max_diff = 0;
  std::string problem = compare(expected, actual, "out", max_diff);
  if (!problem.empty()) {
    return report("mismatch", problem, 0, false);
  }
  if (!(max_diff <= kAtol)) {  // NaN included
    std::ostringstream detail;
    detail << "max abs diff " << max_diff << " > atol " << kAtol;
    return report("mismatch", detail.str(), max_diff, true);
  }
  return report("ok", "", max_diff, true);
}
