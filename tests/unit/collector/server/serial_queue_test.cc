#include "collector/server/serial_queue.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "common/thread/mutex.h"

namespace logship::collector {

TEST_CASE("SerialQueue: jobs of one queue run in order and never two at once, on a shared pool") {
  WorkPool pool(4, SIZE_MAX, "test-pool");
  constexpr int kQueues = 8, kJobs = 500;
  std::vector<std::shared_ptr<SerialQueue>> queues;
  std::vector<std::vector<int>> seen(kQueues);
  std::vector<std::atomic<int>> running(kQueues);
  std::atomic<int> overlaps{0}, done{0};
  for (int q = 0; q < kQueues; ++q) queues.push_back(SerialQueue::Create(pool));
  for (int j = 0; j < kJobs; ++j)
    for (int q = 0; q < kQueues; ++q)
      queues[q]->Post([&, q, j] {
        if (running[q]++ != 0) ++overlaps;
        seen[q].push_back(j);  // only this queue's jobs touch seen[q]
        --running[q];
        ++done;
      });
  for (int i = 0; i < 500 && done < kQueues * kJobs; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(done == kQueues * kJobs);
  CHECK(overlaps == 0);
  for (int q = 0; q < kQueues; ++q) {
    REQUIRE(seen[q].size() == kJobs);
    for (int j = 0; j < kJobs; ++j) CHECK(seen[q][j] == j);
  }
}

TEST_CASE("SerialQueue: a queue outlives its owner while a job of it is queued") {
  WorkPool pool(1, SIZE_MAX, "test-pool");
  std::atomic<bool> ran{false};
  Mutex gate;
  gate.Lock();
  auto blocker = SerialQueue::Create(pool);
  blocker->Post([&] { MutexLock l(gate); });  // holds the only thread
  {
    auto q = SerialQueue::Create(pool);
    q->Post([&] { ran = true; });
  }  // the owner's reference is gone; the queued run keeps the queue
  gate.Unlock();
  for (int i = 0; i < 200 && !ran; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(ran);
}

}  // namespace logship::collector
