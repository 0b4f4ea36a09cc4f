import type { ComponentChildren } from "preact";

/** A table of things with a last column of actions (named for screen readers only): users, invitations, tokens. */
export function DataTable({ columns, children }: { columns: string[]; children: ComponentChildren }) {
  return (
    <table class="account-table">
      <thead>
        <tr>
          {columns.map((c) => (
            <th key={c} scope="col">
              {c}
            </th>
          ))}
          <th scope="col">
            <span class="sr-only">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  );
}
