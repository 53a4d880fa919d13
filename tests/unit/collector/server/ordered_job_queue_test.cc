#include "collector/server/ordered_job_queue.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "common/thread/mutex.h"

namespace logship::collector {

TEST_CASE("OrderedJobQueue: jobs of one queue run in order and never two at once, on a shared pool") {
  WorkPool pool(4, SIZE_MAX, "test-pool");
  constexpr int kQueues = 8, kJobs = 500;
  std::vector<std::shared_ptr<OrderedJobQueue>> queues;
  std::vector<std::vector<int>> seen(kQueues);
  std::vector<std::atomic<int>> running(kQueues);
  std::atomic<int> overlaps{0}, done{0};
  for (int q = 0; q < kQueues; ++q) queues.push_back(OrderedJobQueue::Create(pool));
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

TEST_CASE("OrderedJobQueue: a queue outlives its owner while a job of it is queued") {
  WorkPool pool(1, SIZE_MAX, "test-pool");
  std::atomic<bool> ran{false};
  Mutex gate;
  gate.Lock();
  auto blocker = OrderedJobQueue::Create(pool);
  blocker->Post([&] { MutexLock l(gate); });  // holds the only thread
  {
    auto q = OrderedJobQueue::Create(pool);
    q->Post([&] { ran = true; });
  }  // the owner's reference is gone; the queued run keeps the queue
  gate.Unlock();
  for (int i = 0; i < 200 && !ran; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(ran);
}

TEST_CASE("OrderedJobQueue: width N starts jobs in order and runs at most N at once, N when they wait") {
  WorkPool pool(8, SIZE_MAX, "test-pool");
  constexpr int kWidth = 3, kJobs = 12;
  auto q = OrderedJobQueue::Create(pool, kWidth);
  Mutex mu;
  CondVar cv;
  int running = 0, most = 0, released = 0;
  std::vector<int> started;
  for (int j = 0; j < kJobs; ++j)
    q->Post([&, j] {
      MutexLock l(mu);
      started.push_back(j);
      most = std::max(most, ++running);
      cv.NotifyAll();
      while (released <= j) cv.Wait(mu);  // job j ends only when the test lets it
      --running;
      cv.NotifyAll();
    });
  {
    MutexLock l(mu);
    for (int i = 0; i < 500 && running < kWidth; ++i) cv.WaitFor(mu, std::chrono::milliseconds(10));
    CHECK(running == kWidth);  // all of them at once: a slow write does not hold the next
    // The first kWidth taken are 0..kWidth-1 (their runners may record them in any order).
    std::vector<int> first(started.begin(), started.end());
    std::sort(first.begin(), first.end());
    CHECK(first == std::vector<int>{0, 1, 2});
    // Then one ends at a time, so exactly one more starts each time: the next in order.
    for (int k = 0; k < kJobs; ++k) {
      released = k + 1;
      cv.NotifyAll();
      const size_t expect = static_cast<size_t>(std::min(kJobs, k + 1 + kWidth));
      for (int i = 0; i < 500 && started.size() < expect; ++i) cv.WaitFor(mu, std::chrono::milliseconds(10));
      REQUIRE(started.size() == expect);
      if (k + kWidth < kJobs) CHECK(started.back() == k + kWidth);
    }
    for (int i = 0; i < 500 && running > 0; ++i) cv.WaitFor(mu, std::chrono::milliseconds(10));
    CHECK(running == 0);
    CHECK(most == kWidth);
  }
  // Inline runs count against the width too.
  std::atomic<bool> inline_ran{false};
  CHECK(q->RunHereIfIdle([&] { inline_ran = true; }));
  CHECK(inline_ran);
}

TEST_CASE("OrderedJobQueue: a job that releases its runner does not hold the jobs after it") {
  WorkPool pool(4, SIZE_MAX, "test-pool");
  auto q = OrderedJobQueue::Create(pool);
  Mutex mu;
  CondVar cv;
  bool second_ran = false, first_done = false;
  std::vector<int> order;
  q->Post([&] {
    MutexLock l(mu);
    order.push_back(1);
    q->ReleaseRunner();  // about to block: the queue goes on without this thread
    for (int i = 0; i < 500 && !second_ran; ++i) cv.WaitFor(mu, std::chrono::milliseconds(10));
    first_done = true;
    cv.NotifyAll();
  });
  q->Post([&] {
    MutexLock l(mu);
    order.push_back(2);
    second_ran = true;
    cv.NotifyAll();
  });
  MutexLock l(mu);
  for (int i = 0; i < 500 && !first_done; ++i) cv.WaitFor(mu, std::chrono::milliseconds(10));
  CHECK(second_ran);  // it ran while the first still waited for it
  CHECK(first_done);
  CHECK(order == std::vector<int>{1, 2});
  // The queue is whole afterwards: jobs still run one at a time, in order.
  std::vector<int> later;
  std::atomic<int> done{0};
  for (int j = 0; j < 50; ++j)
    q->Post([&, j] {
      later.push_back(j);
      ++done;
    });
  for (int i = 0; i < 500 && done < 50; ++i) cv.WaitFor(mu, std::chrono::milliseconds(10));
  REQUIRE(done == 50);
  for (int j = 0; j < 50; ++j) CHECK(later[j] == j);
}

}  // namespace logship::collector
