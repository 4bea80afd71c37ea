// judge_bottle: the one answer to "is this bottle converged, and what is its error" that status,
// reconcile --once, sd_notify and the pass waiters share.
#include <catch2/catch.hpp>

#include "supervisor/bottle_verdict.h"

using bs::supervisor::BottleFacts;
using bs::supervisor::judge_bottle;

namespace {

BottleFacts at_rest() {
  BottleFacts f;
  f.plan_empty = true;
  return f;
}

}  // namespace

TEST_CASE("bottle verdict: converged only at rest, with nothing to do, pending or wrong", "[daemon-unit]") {
  CHECK(judge_bottle(at_rest()).converged);
  CHECK_FALSE(judge_bottle(at_rest()).error);

  BottleFacts busy = at_rest();
  busy.busy = true;
  CHECK_FALSE(judge_bottle(busy).converged);
  CHECK_FALSE(judge_bottle(busy).error);  // work in hand is not an error

  BottleFacts work = at_rest();
  work.plan_empty = false;
  CHECK_FALSE(judge_bottle(work).converged);

  BottleFacts pending = at_rest();
  pending.plan_pending = true;  // a VM whose booted policy is not known yet
  CHECK_FALSE(judge_bottle(pending).converged);
  CHECK_FALSE(judge_bottle(pending).error);
}

TEST_CASE("bottle verdict: the error shown is the first that applies", "[daemon-unit]") {
  BottleFacts f = at_rest();
  f.removal = "spec file removed; the bottle is removed at 12:00";
  CHECK(*judge_bottle(f).error == *f.removal);
  f.folder_problem = "cannot read /specs";
  CHECK(*judge_bottle(f).error == "held: cannot read /specs");  // held: no removal runs
  f.restart_wait = "restart backoff, next start at 12:01";
  CHECK(*judge_bottle(f).error == *f.restart_wait);
  f.plan_error = "machine 'm' is managed by another bottle";
  CHECK(*judge_bottle(f).error == *f.plan_error);
  f.exec_error = "smolvm machine start: boom";
  CHECK(*judge_bottle(f).error == *f.exec_error);
  f.spec_error = "a.toml:3:1: unknown key 'cpu'";
  CHECK(*judge_bottle(f).error == *f.spec_error);  // what the user must fix comes first
  CHECK_FALSE(judge_bottle(f).converged);

  // Every single reason alone keeps it from converging.
  for (auto field : {&BottleFacts::spec_error, &BottleFacts::exec_error, &BottleFacts::plan_error,
                     &BottleFacts::restart_wait, &BottleFacts::folder_problem, &BottleFacts::removal}) {
    BottleFacts one = at_rest();
    one.*field = "why";
    CHECK_FALSE(judge_bottle(one).converged);
    CHECK(judge_bottle(one).error.has_value());
  }
}
