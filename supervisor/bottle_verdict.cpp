#include "supervisor/bottle_verdict.h"

namespace bs::supervisor {

BottleVerdict judge_bottle(const BottleFacts& f) {
  BottleVerdict v;
  // A spec error wins: it is what the user must fix, and the step's own error may only follow
  // from it. Waiting, being held and being removed explain a bottle that has no error of its own.
  if (f.spec_error) {
    v.error = f.spec_error;
  } else if (f.exec_error) {
    v.error = f.exec_error;
  } else if (f.plan_error) {
    v.error = f.plan_error;
  } else if (f.restart_wait) {
    v.error = f.restart_wait;
  } else if (f.folder_problem) {
    v.error = "held: " + *f.folder_problem;
  } else if (f.removal) {
    v.error = f.removal;
  }
  v.converged = !f.busy && !v.error && f.plan_empty && !f.plan_pending;
  return v;
}

}  // namespace bs::supervisor
