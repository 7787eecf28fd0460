// Signs in with an access token: the server answers with a session cookie (HttpOnly, SameSite=Strict).
const form = document.getElementById('login');
const error = document.getElementById('error');

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  error.hidden = true;
  const token = document.getElementById('token').value;
  try {
    const res = await fetch('/api/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
      credentials: 'same-origin',
    });
    if (res.ok) {
      location.assign('/');
      return;
    }
    const body = await res.json().catch(() => ({}));
    error.textContent = body.error ?? `sign-in failed (${res.status})`;
  } catch (e) {
    error.textContent = `sign-in failed: ${e.message}`;
  }
  error.hidden = false;
});
