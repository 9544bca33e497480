/**
 * `/admin/jobs`: BullMQ queues: counts per state, the newest failures with their error, and
 * retry or discard (one job, or every failed job of a queue).
 *
 * @module
 */
import {
  discardAllFailed,
  discardJob,
  type FailedJob,
  type QueueCounts,
  queueCounts,
  recentFailures,
  retryAllFailed,
  retryJob,
} from "../../services/jobs.ts";
import { ServiceError } from "../../services/deps.ts";
import { PageHead, PostForm, Time } from "../../components/ui.tsx";
import { act, type Handlers, page, type PageProps } from "../_define.ts";

interface Data {
  queues: QueueCounts[];
  failures: FailedJob[];
}

export const title = "Jobs";

export const handler: Handlers<Data> = {
  async GET(ctx) {
    const s = ctx.deps.services;
    const [queues, failures] = await Promise.all([
      queueCounts(s),
      recentFailures(s, { limit: 50 }),
    ]);
    return page({ queues, failures });
  },
  POST(ctx) {
    const s = ctx.deps.services;
    const { action, queue = "", id = "" } = ctx.form;
    return act("/admin/jobs", async () => {
      switch (action) {
        case "retry":
          await retryJob(s, queue, id);
          return `Job ${id} queued again.`;
        case "discard":
          await discardJob(s, queue, id);
          return `Job ${id} discarded.`;
        case "retry-all":
          return `${await retryAllFailed(s, queue)} failed jobs queued again.`;
        case "discard-all":
          return `${await discardAllFailed(s, queue)} failed jobs discarded.`;
        default:
          throw new ServiceError("invalid", "Unknown action");
      }
    });
  },
};

export default function JobsPage({ data, csrf }: PageProps<Data>) {
  return (
    <>
      <PageHead title="Jobs" sub="BullMQ queues shared by the web processes and the workers." />
      <section class="card">
        <div class="table-wrap">
          <table class="table cards" data-testid="queues">
            <thead>
              <tr>
                <th>Queue</th>
                <th class="num">Waiting</th>
                <th class="num">Active</th>
                <th class="num">Delayed</th>
                <th class="num">Failed</th>
                <th class="num">Completed</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {data.queues.map((q) => (
                <tr key={q.key}>
                  <td data-label="Queue">
                    <code>{q.name}</code>
                  </td>
                  <td data-label="Waiting" class="num">{q.waiting + q.prioritized}</td>
                  <td data-label="Active" class="num">{q.active}</td>
                  <td data-label="Delayed" class="num">{q.delayed}</td>
                  <td data-label="Failed" class="num">
                    {q.failed > 0 ? <span class="badge bad">{q.failed}</span> : 0}
                  </td>
                  <td data-label="Completed" class="num">{q.completed}</td>
                  <td class="actions">
                    {q.failed > 0 && (
                      <PostForm action="/admin/jobs" csrf={csrf}>
                        <input type="hidden" name="queue" value={q.key} />
                        <button type="submit" name="action" value="retry-all" class="btn small">
                          Retry failed
                        </button>
                        <button
                          type="submit"
                          name="action"
                          value="discard-all"
                          class="btn danger small"
                        >
                          Discard failed
                        </button>
                      </PostForm>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      <section class="card">
        <h2>Recent failures</h2>
        {data.failures.length === 0
          ? <p class="empty">No failed jobs.</p>
          : (
            <div class="table-wrap">
              <table class="table cards" data-testid="failures">
                <thead>
                  <tr>
                    <th>Failed</th>
                    <th>Queue</th>
                    <th>Job</th>
                    <th>Error</th>
                    <th class="num">Tries</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {data.failures.map((f) => (
                    <tr key={`${f.queue}:${f.id}`}>
                      <td data-label="Failed">
                        <Time t={f.failedAt === null ? null : new Date(f.failedAt)} />
                      </td>
                      <td data-label="Queue">
                        <code>{f.queue}</code>
                      </td>
                      <td data-label="Job" title={f.data}>
                        {f.name} <span class="muted">#{f.id}</span>
                      </td>
                      <td data-label="Error" class="wrap error-text">{f.error}</td>
                      <td data-label="Tries" class="num">{f.attempts}</td>
                      <td class="actions">
                        <PostForm action="/admin/jobs" csrf={csrf}>
                          <input type="hidden" name="queue" value={f.queue} />
                          <input type="hidden" name="id" value={f.id} />
                          <button type="submit" name="action" value="retry" class="btn small">
                            Retry
                          </button>
                          <button
                            type="submit"
                            name="action"
                            value="discard"
                            class="btn danger small"
                          >
                            Discard
                          </button>
                        </PostForm>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
      </section>
    </>
  );
}
