#include "collector/server/inflight_budget.h"

#include <doctest/doctest.h>

#include <vector>

namespace logship::collector {

TEST_CASE("InflightBudget: queued requests are granted first come, first served") {
  InflightBudget budget(100);
  CHECK(budget.AcquireOrQueue(80, [] { FAIL("granted at once, no callback"); }) == 0);
  std::vector<int> order;
  const uint64_t big = budget.AcquireOrQueue(60, [&] { order.push_back(1); });
  const uint64_t small = budget.AcquireOrQueue(10, [&] { order.push_back(2); });
  CHECK(big != 0);
  CHECK(small != 0);  // it would fit (80 + 10), but the earlier request waits: no jumping the queue
  CHECK_FALSE(budget.TryAcquire(5));  // neither does a TryAcquire
  CHECK(budget.waiting() == 2);
  budget.Release(80);
  CHECK(order == std::vector<int>{1, 2});
  CHECK(budget.used() == 70);
  CHECK(budget.waiting() == 0);
}

TEST_CASE("InflightBudget: a request larger than the budget runs alone") {
  InflightBudget budget(100);
  CHECK(budget.TryAcquire(10));
  bool granted = false;
  CHECK(budget.AcquireOrQueue(500, [&] { granted = true; }) != 0);
  CHECK_FALSE(granted);
  budget.Release(10);
  CHECK(granted);
  CHECK(budget.used() == 500);
}

TEST_CASE("InflightBudget: a cancelled request is never granted and lets the next one through") {
  InflightBudget budget(100);
  CHECK(budget.TryAcquire(50));
  bool first = false, second = false;
  const uint64_t t1 = budget.AcquireOrQueue(80, [&] { first = true; });
  const uint64_t t2 = budget.AcquireOrQueue(40, [&] { second = true; });
  CHECK(budget.Cancel(t1));
  CHECK_FALSE(first);
  CHECK(second);  // 50 + 40 fits once the head is gone
  CHECK_FALSE(budget.Cancel(t1));
  CHECK_FALSE(budget.Cancel(t2));  // already granted
  CHECK(budget.used() == 90);
}

}  // namespace logship::collector
