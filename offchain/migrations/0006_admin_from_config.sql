-- ADMIN_ADDRESSES is the source of truth for the admins it names (api/auth/service.ts): an admin
-- role that came from it is removed at the holder's next sign-in or refresh once the address is no
-- longer listed. Admin roles granted through the API (PUT /users/{address}/roles/admin) are not.
ALTER TABLE offchain.users ADD COLUMN admin_from_config boolean NOT NULL DEFAULT false;

-- Existing admins without an API grant in the audit trail got the role from ADMIN_ADDRESSES.
UPDATE offchain.users u
SET admin_from_config = true
WHERE 'admin' = ANY (u.roles)
  AND NOT EXISTS (
    SELECT 1 FROM offchain.audit_log a
    WHERE a.action = 'role.granted' AND a.subject = u.address AND a.detail ->> 'role' = 'admin'
  );
