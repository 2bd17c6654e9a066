#pragma once
// Task: the circulation's unit of work, a move-only `void()` callable (InlineFunction) with
// 48 bytes of inline storage (six pointers), so queuing work does not allocate: a lambda
// capturing up to kInlineSize bytes lives inside the Task, a larger one goes to the heap
// once, at construction. A Task is 64 bytes, one cache line, and a trivially copyable
// callable moves as a copy of its storage: a queued task moves three times on its way to a
// worker.
//
// run_caught() runs it and reports a throw as false (the worker turns that into
// TaskError::Panicked).
#include <cstddef>

#include <omega/base/inline_function.hpp>

namespace omega {

using Task = InlineFunction<48, alignof(std::max_align_t)>;
static_assert(sizeof(Task) <= 64, "a Task fits one cache line (queue slots and bulk submissions rely on it)");

}  // namespace omega
