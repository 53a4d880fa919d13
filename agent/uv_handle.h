// RAII for libuv handles: the handle lives on the heap and is freed in uv_close's
// callback, as libuv requires. Loop thread only.
#pragma once

#include <uv.h>

#include <memory>

namespace logship::agent {

template <typename T>
class UvHandle {
 public:
  UvHandle() : h_(std::make_unique<T>()) {}
  ~UvHandle() { Close(); }
  UvHandle(const UvHandle&) = delete;
  UvHandle& operator=(const UvHandle&) = delete;

  T* get() const { return h_.get(); }
  uv_handle_t* handle() const { return reinterpret_cast<uv_handle_t*>(h_.get()); }
  // Call after uv_*_init succeeded; until then the destructor just frees the memory.
  void MarkInitialized() { initialized_ = true; }
  bool initialized() const { return h_ && initialized_; }  // false before init and after Close

  void Close() {
    if (!h_) return;
    if (!initialized_) {
      h_.reset();
      return;
    }
    uv_close(reinterpret_cast<uv_handle_t*>(h_.release()),
             [](uv_handle_t* h) { std::unique_ptr<T> owned(reinterpret_cast<T*>(h)); });
  }

 private:
  std::unique_ptr<T> h_;
  bool initialized_ = false;
};

}  // namespace logship::agent
